package importer_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"testing"

	"github.com/zestequity/zest-api/internal/importer"
	"github.com/zestequity/zest-api/internal/testkit"
)

// An import interrupted while a batch is in flight writes what it knows
// and fails; running it again skips the batches answered, replays the one
// in flight under its key, sends the rest, and creates nothing twice. A run
// after that sends nothing, and one without the journal replays every key.
func TestInterruptedImportFinishesOnRerun(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		content := validCSV(10) + "bad-1,nope,A,B,1985-04-12,AE\n" + csvRow("inv-00003", "AE")
		file := e.write(t, "investors.csv", content)

		// The server answers the third batch, but the import is
		// interrupted before it reads the answer.
		first := newTransport(e)
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		first.fault = func(n int, forward func() (*http.Response, error)) (*http.Response, error) {
			if n < 3 {
				return forward()
			}
			if _, err := forward(); err != nil {
				t.Error(err)
			}
			cancel()
			return nil, context.Canceled
		}
		sum, err := importer.Run(runCtx, batched(e.options(file, first), 2))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want an interruption", err)
		}
		if sum.Rows != 12 || sum.Created != 4 || sum.Failed != 2 || sum.Pending != 6 {
			t.Errorf("interrupted summary %+v", sum)
		}
		rs := readResults(t, sum.Results)
		counts := map[string]int{}
		for _, r := range rs {
			counts[r.status]++
		}
		if len(rs) != 12 || counts["created"] != 4 || counts["failed"] != 2 || counts["pending"] != 6 {
			t.Errorf("interrupted results %v: %+v", counts, rs)
		}
		if n := e.api.DB.Count(t, "people"); n != 6 {
			t.Errorf("%d people after the interruption, want the 6 of the 3 batches sent", n)
		}

		second := newTransport(e)
		sum, err = importer.Run(ctx, batched(e.options(file, second), 2))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rows != 12 || sum.Created != 10 || sum.Failed != 2 || sum.Pending != 0 || sum.Resumed != 4 {
			t.Errorf("rerun summary %+v", sum)
		}
		reqs := second.requests()
		if len(reqs) != 3 || reqs[0].key != first.requests()[2].key {
			t.Errorf("rerun sent %+v; want the batch in flight under its key, then the 2 others", reqs)
		}
		rs = readResults(t, sum.Results)
		for _, r := range rs {
			want := "created"
			if r.pid == "bad-1" || r.line == 13 {
				want = "failed"
			}
			if r.status != want {
				t.Errorf("line %d: %+v, want %s", r.line, r, want)
			}
		}
		e.checkIDs(t, rs)
		if n := e.api.DB.Count(t, "people"); n != 10 {
			t.Errorf("%d people, want 10", n)
		}
		if orphans, bad := e.api.DB.Unpaired(t); len(orphans) != 0 || bad != 0 {
			t.Errorf("unpaired: %v, %d", orphans, bad)
		}
		finished, err := os.ReadFile(sum.Results)
		if err != nil {
			t.Fatal(err)
		}

		// Nothing is left to send.
		third := newTransport(e)
		sum, err = importer.Run(ctx, batched(e.options(file, third), 2))
		if err != nil || len(third.requests()) != 0 || sum.Resumed != 10 {
			t.Errorf("third run: %v, %d requests, %+v", err, len(third.requests()), sum)
		}
		if again, _ := os.ReadFile(sum.Results); !bytes.Equal(again, finished) {
			t.Errorf("the results changed:\n%s\nwant\n%s", again, finished)
		}

		// Without the journal, every batch is sent again under its key and
		// the server replays its answer.
		if err := os.Remove(sum.Results + ".journal"); err != nil {
			t.Fatal(err)
		}
		fourth := newTransport(e)
		sum, err = importer.Run(ctx, batched(e.options(file, fourth), 2))
		if err != nil || sum.Created != 10 {
			t.Errorf("fourth run: %v, %+v", err, sum)
		}
		var keys, replayed []string
		for _, r := range append(first.requests(), second.requests()...) {
			keys = append(keys, r.key)
		}
		for _, r := range fourth.requests() {
			replayed = append(replayed, r.key)
		}
		if slices.Sort(keys); !slices.Equal(slices.Compact(keys), slices.Sorted(slices.Values(replayed))) {
			t.Errorf("keys %v, replayed %v", keys, replayed)
		}
		if again, _ := os.ReadFile(sum.Results); !bytes.Equal(again, finished) {
			t.Errorf("the results changed:\n%s\nwant\n%s", again, finished)
		}
		if n := e.api.DB.Count(t, "people"); n != 10 {
			t.Errorf("%d people, want 10", n)
		}
	})
}

// A journal left by an import of other content, in other batches, or
// through another token, vouches for nothing: the import starts afresh.
func TestJournalOfAnotherImportIsIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testkit.SQLite, testkit.Options{})
	file := e.write(t, "investors.csv", validCSV(2))
	if _, err := importer.Run(ctx, e.options(file, newTransport(e))); err != nil {
		t.Fatal(err)
	}
	other := e.api.Tenant(t, "other")
	for _, c := range []struct {
		name   string
		change func(*importer.Options)
	}{
		{"content", func(*importer.Options) { e.write(t, "investors.csv", validCSV(3)) }},
		{"batch size", func(o *importer.Options) { o.BatchSize = 2 }},
		{"token", func(o *importer.Options) { o.Token = other }},
	} {
		tr := newTransport(e)
		opts := e.options(file, tr)
		c.change(&opts)
		sum, err := importer.Run(ctx, opts)
		if err != nil || sum.Resumed != 0 || len(tr.sentPIDs()) != sum.Rows || !sum.Succeeded() {
			t.Errorf("%s changed: %v, %d rows sent, %+v", c.name, err, len(tr.sentPIDs()), sum)
		}
	}
	if n := e.api.DB.Count(t, "people"); n != 6 {
		t.Errorf("%d people, want 3 for each tenant", n)
	}
}

func batched(o importer.Options, n int) importer.Options {
	o.BatchSize = n
	return o
}
