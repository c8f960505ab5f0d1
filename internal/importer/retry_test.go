package importer_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/importer"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/testkit"
)

// failingPairs fails the User write of the first batch transiently, after
// its people were written: the server answers those rows failed and
// retryable.
type failingPairs struct {
	investors.Store
	calls atomic.Int32
}

func (f *failingPairs) CompletePairs(ctx context.Context, cs []investors.Completion) ([]int64, error) {
	if f.calls.Add(1) == 1 {
		return nil, apperr.Wrap(errors.New("connection reset"), apperr.Unavailable, "unavailable")
	}
	return f.Store.CompletePairs(ctx, cs)
}

// Rows answered failed and retryable are resent, in a batch of their own
// under a key of its own, and end created with the ids of the people
// written the first time.
func TestTransientRowFailuresAreResent(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		fp := &failingPairs{}
		e := newEnv(t, d, testkit.Options{WrapStore: func(s investors.Store) investors.Store { fp.Store = s; return fp }})
		file := e.write(t, "investors.csv", validCSV(7))
		tr := newTransport(e)
		opts := e.options(file, tr)
		opts.BatchSize = 3
		sum, err := importer.Run(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Created != 7 || !sum.Succeeded() {
			t.Errorf("summary %+v", sum)
		}
		reqs := tr.requests()
		if len(reqs) != 4 {
			t.Fatalf("%d requests, want 3 batches and 1 resend: %+v", len(reqs), reqs)
		}
		if want := []string{"inv-00000", "inv-00001", "inv-00002"}; !slices.Equal(reqs[3].pids, want) {
			t.Errorf("resent %v, want %v", reqs[3].pids, want)
		}
		for _, r := range reqs[:3] {
			if r.key == reqs[3].key {
				t.Errorf("the resend reused the key of a batch")
			}
		}
		rs := readResults(t, sum.Results)
		for _, r := range rs {
			if r.status != "created" {
				t.Errorf("line %d: %+v", r.line, r)
			}
		}
		e.checkIDs(t, rs)
		if n := e.api.DB.Count(t, "people"); n != 7 {
			t.Errorf("%d people, want 7", n)
		}
		if orphans, bad := e.api.DB.Unpaired(t); len(orphans) != 0 || bad != 0 {
			t.Errorf("unpaired: %v, %d", orphans, bad)
		}
	})
}

// Request-level failures that may pass are retried with the same key, with
// backoff, honouring Retry-After; a response lost after the server acted is
// replayed by the key, so its rows still read created.
func TestRequestFailuresAreRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testkit.SQLite, testkit.Options{})
	file := e.write(t, "investors.csv", validCSV(3))
	tr := newTransport(e)
	tr.fault = func(n int, forward func() (*http.Response, error)) (*http.Response, error) {
		switch n {
		case 1:
			return problem(503, "service_unavailable", "Retry-After", "1"), nil
		case 2:
			return nil, errors.New("connection reset by peer")
		case 3:
			return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"0"}}, Body: http.NoBody}, nil
		case 4:
			return problem(409, "idempotency_key_in_use", "Retry-After", "0"), nil
		case 5:
			if resp, err := forward(); err != nil || resp.StatusCode != 200 {
				t.Errorf("forwarded request: %v %v", resp, err)
			}
			return problem(502, "bad_gateway"), nil
		}
		return forward()
	}
	opts := e.options(file, tr)
	opts.Retry.Attempts = 6
	start := time.Now()
	sum, err := importer.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Errorf("Retry-After: 1 was not honoured")
	}
	if sum.Created != 3 || !sum.Succeeded() {
		t.Errorf("summary %+v", sum)
	}
	reqs := tr.requests()
	if len(reqs) != 6 {
		t.Fatalf("%d requests, want 6", len(reqs))
	}
	for _, r := range reqs[1:] {
		if r.key != reqs[0].key || r.key == "" {
			t.Errorf("keys %q and %q: a retry must send the same key", reqs[0].key, r.key)
		}
	}
	if n := e.api.DB.Count(t, "people"); n != 3 {
		t.Errorf("%d people, want 3", n)
	}
}

// Retries are bounded: a server that keeps failing stops the import, and
// every row it did not answer is pending in the results.
func TestRetriesAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testkit.SQLite, testkit.Options{})
	file := e.write(t, "investors.csv", validCSV(2))
	tr := newTransport(e)
	tr.fault = func(int, func() (*http.Response, error)) (*http.Response, error) {
		return problem(500, "internal_error"), nil
	}
	opts := e.options(file, tr)
	opts.Retry.Attempts = 3
	sum, err := importer.Run(ctx, opts)
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "500 internal_error") {
		t.Fatalf("error %v", err)
	}
	if len(tr.requests()) != 3 || sum.Pending != 2 {
		t.Errorf("%d requests, summary %+v", len(tr.requests()), sum)
	}
	for _, r := range readResults(t, sum.Results) {
		if r.status != "pending" {
			t.Errorf("line %d: %+v", r.line, r)
		}
	}
}

// A problem that sending again cannot fix stops the import at once, naming
// its code and detail.
func TestRefusedRequestStopsTheImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testkit.SQLite, testkit.Options{})
	file := e.write(t, "investors.csv", validCSV(3))
	tr := newTransport(e)
	opts := e.options(file, tr)
	opts.Token = "zest_aaaaaaaaaaaaaaaa_" + strings.Repeat("b", 52)
	opts.BatchSize = 2
	sum, err := importer.Run(ctx, opts)
	var re *importer.RequestError
	if !errors.As(err, &re) || re.Status != 401 || re.Code != "invalid_token" || re.RequestID == "" {
		t.Fatalf("error %v", err)
	}
	if !strings.Contains(err.Error(), "401 invalid_token: The bearer token is missing, malformed, unknown or revoked.") {
		t.Errorf("message %q", err)
	}
	if len(tr.requests()) != 1 || sum.Pending != 3 || sum.Rows != 3 {
		t.Errorf("%d requests, summary %+v", len(tr.requests()), sum)
	}
}
