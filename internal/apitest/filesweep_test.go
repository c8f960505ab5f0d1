package apitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/files"
	"github.com/zestequity/zest-api/internal/subscriptions"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/models"
)

// Ways RecordDocument fails, as a connection lost at the commit makes it.
const (
	recordWorks int32 = iota
	recordLostBefore
	recordLostAfter // the document is written, but the server cannot know
	recordStalls    // until the upload's context ends
)

// recordFault stands between the subscriptions service and the database.
type recordFault struct {
	subscriptions.Store
	mode atomic.Int32
}

var errLost = apperr.Wrap(io.ErrUnexpectedEOF, apperr.Unavailable, "The service is temporarily unavailable. Retry later.")

func (f *recordFault) RecordDocument(ctx context.Context, doc models.SubscriptionDocument, from []string, status string, ev models.Event) (bool, error) {
	switch f.mode.Load() {
	case recordLostBefore:
		return false, errLost
	case recordLostAfter:
		if _, err := f.Store.RecordDocument(ctx, doc, from, status, ev); err != nil {
			return false, err
		}
		return false, errLost
	case recordStalls:
		// Bounded, so that an upload that does not give up fails the test
		// rather than hanging it.
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
	}
	return f.Store.RecordDocument(ctx, doc, from, status, ev)
}

// blobKeys lists the bucket's keys under prefix, however old.
func blobKeys(t testing.TB, f *files.Store, prefix string) []string {
	t.Helper()
	var out []string
	err := f.Older(ctx, prefix, time.Now().AddDate(100, 0, 0), 1000, func(keys []string) error {
		out = append(out, keys...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func documentKeys(t testing.TB, e *env) []string {
	t.Helper()
	rows, err := e.api.DB.SQL.Query(`SELECT blob_key FROM subscription_documents ORDER BY blob_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A file that an upload stored but whose document was never written (the
// database was lost at the commit, or the process crashed after the write)
// stays until it is older than the grace period, and is then deleted by the
// sweep, run by two processes at once and a page at a time. A file that a
// document references stays, even one whose upload was answered with an
// error, and so does whatever is outside the uploads' keys.
func TestSweepDeletesFilesWithoutDocument(t *testing.T) {
	eachBackend(t, func(t *testing.T, d testkit.Dialect, b blobBackend) {
		t.Parallel()
		// A directory dates its files by the real clock.
		clock := testkit.NewClock(time.Now())
		fault := &recordFault{}
		e := newEnv(t, d, testkit.Options{
			Now: clock.Now, BlobURL: b.url(t, clock.Now), FileSweepPage: 2,
			WrapSubscriptions: func(st subscriptions.Store) subscriptions.Store { fault.Store = st; return fault },
		})
		e.spv(t, "acme", "growth", "USD", nil)
		imp := e.importRows(t, rowsFor("o", 1)...)
		zid := *imp.Results[0].ZestPersonId
		e.subscribe(t, "growth", sub(zid, "50000"))

		if f := e.uploadForm(t, "growth", zid, pdfFile); f.JSON201 == nil {
			t.Fatalf("form: %d %s", f.StatusCode(), f.Body)
		}
		fault.mode.Store(recordLostBefore)
		f := e.uploadForm(t, "growth", zid, pngFile)
		wantProblem(t, http.StatusServiceUnavailable, f.Body, f.StatusCode(), "service_unavailable")
		fault.mode.Store(recordLostAfter)
		r := e.uploadFunding(t, "growth", zid, pdfFile, funding("USD", "50000"))
		wantProblem(t, http.StatusServiceUnavailable, r.Body, r.StatusCode(), "service_unavailable")
		fault.mode.Store(recordWorks)
		for _, k := range []string{"subscriptions/sub_gone/doc_1", "subscriptions/sub_gone/doc_2", "subscriptions/sub_gone/doc_3", "elsewhere/kept.pdf"} {
			if err := e.api.Files.Put(ctx, k, "application/pdf", bytes.NewReader(pdfFile)); err != nil {
				t.Fatal(err)
			}
		}

		referenced := documentKeys(t, e)
		if len(referenced) != 2 {
			t.Fatalf("documents %v, want the form and the funding whose answer was lost", referenced)
		}
		all := blobKeys(t, e.api.Files, "subscriptions/")
		if len(all) != 6 {
			t.Fatalf("files %v, want the 2 documents', the refused form's and 3 a crash left", all)
		}

		clock.Advance(subscriptions.FileGrace - time.Minute)
		if n, err := e.api.Subs.SweepFiles(ctx); n != 0 || err != nil {
			t.Errorf("sweep within the grace period: %d deleted, %v", n, err)
		}
		if got := blobKeys(t, e.api.Files, "subscriptions/"); !slices.Equal(got, all) {
			t.Errorf("files after a sweep within the grace period %v, want %v", got, all)
		}

		clock.Advance(time.Hour)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if _, err := e.api.Subs.SweepFiles(ctx); err != nil {
					t.Errorf("sweep: %v", err)
				}
			})
		}
		wg.Wait()
		if got := blobKeys(t, e.api.Files, "subscriptions/"); !slices.Equal(got, referenced) {
			t.Errorf("files after the sweeps %v, want the documents' %v", got, referenced)
		}
		if got := blobKeys(t, e.api.Files, "elsewhere/"); !slices.Equal(got, []string{"elsewhere/kept.pdf"}) {
			t.Errorf("files outside the uploads' keys %v", got)
		}
		if n, err := e.api.Subs.SweepFiles(ctx); n != 0 || err != nil {
			t.Errorf("another sweep: %d deleted, %v", n, err)
		}

		got, err := e.client.GetSubscriptionWithResponse(ctx, "growth", zid)
		if err != nil || got.JSON200 == nil || got.JSON200.Documents == nil || len(*got.JSON200.Documents) != 2 {
			t.Fatalf("get: %v %s", err, got.Body)
		}
		for _, doc := range *got.JSON200.Documents {
			if code, body := fetchFile(t, doc.Url); code != http.StatusOK || !bytes.Equal(body, pdfFile) {
				t.Errorf("the %s after the sweep: %d, %d bytes", doc.Kind, code, len(body))
			}
		}
	})
}

// An upload whose document is not written within half the grace period,
// however long the database takes, gives up: its file may be taken for an
// orphan and swept once the grace period is over.
func TestUploadGivesUpBeforeItsFileCouldBeSwept(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		fault := &recordFault{}
		e := newEnv(t, d, testkit.Options{
			FileGrace:         100 * time.Millisecond,
			WrapSubscriptions: func(st subscriptions.Store) subscriptions.Store { fault.Store = st; return fault },
		})
		e.spv(t, "acme", "growth", "USD", nil)
		imp := e.importRows(t, rowsFor("s", 1)...)
		zid := *imp.Results[0].ZestPersonId
		e.subscribe(t, "growth", sub(zid, "50000"))

		fault.mode.Store(recordStalls)
		f := e.uploadForm(t, "growth", zid, pdfFile)
		wantProblem(t, http.StatusServiceUnavailable, f.Body, f.StatusCode(), "service_unavailable")
		if keys := documentKeys(t, e); len(keys) != 0 {
			t.Errorf("documents %v written after the deadline", keys)
		}
		got, err := e.client.GetSubscriptionWithResponse(ctx, "growth", zid)
		if err != nil || got.JSON200 == nil || got.JSON200.Status != "pending" {
			t.Errorf("subscription after the refused upload: %v %s", err, got.Body)
		}
	})
}
