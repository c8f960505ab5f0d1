package apitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/testkit"
)

var (
	pdfFile = append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("signed form "), 100)...)
	pngFile = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 600)...)
)

// multipartBody builds an upload's body; the file part claims to be a PDF
// named form.pdf whatever it holds.
func multipartBody(t testing.TB, file []byte, fields map[string]string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="form.pdf"`)
	h.Set("Content-Type", "application/pdf")
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = part.Write(file)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

func funding(currency, amount string) map[string]string {
	return map[string]string{"amount": amount, "currency": currency, "wireReference": "WIRE-42"}
}

func (e *env) uploadForm(t testing.TB, spv, person string, file []byte) *client.UploadSubscriptionFormResponse {
	t.Helper()
	ct, body := multipartBody(t, file, nil)
	r, err := e.client.UploadSubscriptionFormWithBodyWithResponse(ctx, spv, person, nil, ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) uploadFunding(t testing.TB, spv, person string, file []byte, fields map[string]string) *client.UploadFundingReceiptResponse {
	t.Helper()
	ct, body := multipartBody(t, file, fields)
	r, err := e.client.UploadFundingReceiptWithBodyWithResponse(ctx, spv, person, nil, ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func fetchFile(t testing.TB, u string) (int, []byte) {
	t.Helper()
	code, _, body := fetchFileHeader(t, u)
	return code, body
}

func fetchFileHeader(t testing.TB, u string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// blobBackend is where a test's server keeps the uploaded files.
type blobBackend struct {
	name string
	// url returns the ZEST_BLOB_URL of a fresh bucket; now dates the files
	// where the bucket lets a test choose (a directory dates them by the
	// real clock).
	url func(t *testing.T, now func() time.Time) string
	// local: the server signs and answers the file URLs itself.
	local bool
}

var blobBackends = []blobBackend{
	{"local", func(t *testing.T, _ func() time.Time) string { return "file://" + filepath.ToSlash(t.TempDir()) }, true},
	{"s3", func(t *testing.T, now func() time.Time) string { return testkit.S3(t, now) }, false},
}

// eachBackend runs fn as a subtest per database and blob backend.
func eachBackend(t *testing.T, fn func(t *testing.T, d testkit.Dialect, b blobBackend)) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		for _, b := range blobBackends {
			t.Run(b.name, func(t *testing.T) { fn(t, d, b) })
		}
	})
}

// The rules of both uploads, their documents and events, and the signed
// URLs, on both databases, with the files in a local directory and in an
// S3-compatible bucket.
func TestSubscriptionUploads(t *testing.T) {
	eachBackend(t, func(t *testing.T, d testkit.Dialect, b blobBackend) {
		t.Parallel()
		clock := testkit.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		e := newEnv(t, d, testkit.Options{Now: clock.Now, BlobURL: b.url(t, clock.Now)})
		svc := e.spv(t, "acme", "growth", "USD", nil)
		imp := e.importRows(t, rowsFor("u", 3)...)
		zid := func(i int) string { return *imp.Results[i].ZestPersonId }
		e.subscribe(t, "growth", sub(zid(0), "50000"), sub(zid(1), "1000"))

		r := e.uploadFunding(t, "growth", zid(0), pdfFile, funding("USD", "50000.00"))
		wantProblem(t, http.StatusConflict, r.Body, r.StatusCode(), "form_required")
		f := e.uploadForm(t, "growth", zid(0), []byte("just text, named form.pdf"))
		wantProblem(t, http.StatusUnsupportedMediaType, f.Body, f.StatusCode(), "unsupported_media_type")
		f = e.uploadForm(t, "nope", zid(0), pdfFile)
		wantProblem(t, http.StatusNotFound, f.Body, f.StatusCode(), "not_found")
		f = e.uploadForm(t, "growth", "psn_unknown", pdfFile)
		wantProblem(t, http.StatusNotFound, f.Body, f.StatusCode(), "not_found")
		f = e.uploadForm(t, "growth", zid(2), pdfFile) // no subscription
		wantProblem(t, http.StatusNotFound, f.Body, f.StatusCode(), "not_found")

		first := e.uploadForm(t, "growth", zid(0), pdfFile)
		if first.JSON201 == nil {
			t.Fatalf("form: %d %s", first.StatusCode(), first.Body)
		}
		if got := first.JSON201; got.PersonId != zid(0) || got.SpvSlug != "growth" || !got.UploadedAt.Equal(clock.Now()) {
			t.Errorf("form answer %+v", got)
		}
		code, h, body := fetchFileHeader(t, first.JSON201.SubscriptionFormUrl)
		if code != http.StatusOK || !bytes.Equal(body, pdfFile) {
			t.Fatalf("signed URL: %d, %d bytes", code, len(body))
		}
		if h.Get("Content-Type") != "application/pdf" || h.Get("Cache-Control") != "private, no-store" {
			t.Errorf("the file is served with Content-Type %q, Cache-Control %q", h.Get("Content-Type"), h.Get("Cache-Control"))
		}
		// The webhook carries the URL the answer did: absolute, to be
		// opened as it is, also when this server serves the file itself.
		var payload string
		if err := e.api.DB.SQL.QueryRow(`SELECT payload FROM events WHERE type = 'signed_subscription_form.uploaded'`).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		var event struct {
			Data struct {
				SubscriptionFormURL string `json:"subscriptionFormUrl"`
				PartnerInvestorID   string `json:"partnerInvestorId"`
			}
		}
		if err := json.Unmarshal([]byte(payload), &event); err != nil || event.Data.SubscriptionFormURL != first.JSON201.SubscriptionFormUrl {
			t.Errorf("the event's subscriptionFormUrl %q (%v), the answer's %q", event.Data.SubscriptionFormURL, err, first.JSON201.SubscriptionFormUrl)
		}
		if want := *imp.Results[0].PartnerInvestorId; event.Data.PartnerInvestorID != want {
			t.Errorf("the event's partnerInvestorId %q, want %q", event.Data.PartnerInvestorID, want)
		}
		u, _ := url.Parse(first.JSON201.SubscriptionFormUrl)
		if !u.IsAbs() {
			t.Errorf("subscriptionFormUrl %q is not absolute", u)
		}
		if b.local {
			for name, edit := range map[string]func(q url.Values){
				"signature": func(q url.Values) { q.Set("signature", strings.Repeat("A", len(q.Get("signature")))) },
				"object":    func(q url.Values) { q.Set("obj", q.Get("obj")+"x") },
				"expiry":    func(q url.Values) { q.Set("expiry", "99999999999") },
			} {
				q := u.Query()
				edit(q)
				tampered := *u
				tampered.RawQuery = q.Encode()
				if code, _ := fetchFile(t, tampered.String()); code != http.StatusNotFound {
					t.Errorf("URL with another %s: %d", name, code)
				}
			}
		} else if q := u.Query(); !strings.HasPrefix(u.Path, "/zest-files/subscriptions/") || q.Get("X-Amz-Signature") == "" ||
			q.Get("X-Amz-Expires") != "900" || q.Get("response-cache-control") != "private, no-store" {
			// The fake checks no signature, so what S3 would check is
			// checked here: a URL of the object, signed, for the TTL.
			t.Errorf("not a presigned URL of the object for 15 minutes: %s", u)
		}

		clock.Advance(time.Minute)
		ct, body := multipartBody(t, pngFile, nil)
		key := &client.UploadSubscriptionFormParams{IdempotencyKey: ptr("upload-2")}
		second, err := e.client.UploadSubscriptionFormWithBodyWithResponse(ctx, "growth", zid(0), key, ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		replay, err := e.client.UploadSubscriptionFormWithBodyWithResponse(ctx, "growth", zid(0), key, ct, bytes.NewReader(body))
		if err != nil || replay.HTTPResponse.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(replay.Body, second.Body) {
			t.Fatalf("replayed upload: %v %d %s", err, replay.StatusCode(), replay.Body)
		}
		if second.JSON201 == nil {
			t.Fatalf("replacing form: %d %s", second.StatusCode(), second.Body)
		}
		r = e.uploadFunding(t, "growth", zid(0), pdfFile, funding("EUR", "50000"))
		wantProblem(t, http.StatusBadRequest, r.Body, r.StatusCode(), "currency_mismatch")
		r = e.uploadFunding(t, "growth", zid(0), pdfFile, funding("USD", "-5"))
		wantProblem(t, http.StatusBadRequest, r.Body, r.StatusCode(), "invalid_request")
		// The wire reference is text, stored and sent in events as it came.
		for wire, detail := range map[string]string{
			"FT\x00X":                "wireReference must not contain control characters.",
			"FT\x1bX":                "wireReference must not contain control characters.",
			"FT\xff\xfe":             "wireReference must be UTF-8 text.",
			strings.Repeat("é", 141): "wireReference is longer than 140 characters.",
		} {
			fields := funding("USD", "100.00")
			fields["wireReference"] = wire
			r = e.uploadFunding(t, "growth", zid(0), pdfFile, fields)
			wantProblem(t, http.StatusBadRequest, r.Body, r.StatusCode(), "invalid_request")
			var p client.Problem
			if err := json.Unmarshal(r.Body, &p); err != nil || p.Detail != detail {
				t.Errorf("wireReference %q: %q (%v), want %q", wire, p.Detail, err, detail)
			}
		}
		r = e.uploadFunding(t, "growth", zid(0), pdfFile, funding("USD", "50000.5"))
		if r.JSON201 == nil {
			t.Fatalf("funding: %d %s", r.StatusCode(), r.Body)
		}
		if got := r.JSON201; got.Amount != "50000.50" || got.Currency != "USD" || got.WireReference != "WIRE-42" {
			t.Errorf("funding answer %+v", got)
		}

		got, err := e.client.GetSubscriptionWithResponse(ctx, "growth", zid(0))
		if err != nil || got.JSON200 == nil || got.JSON200.Documents == nil {
			t.Fatalf("get: %v %s", err, got.Body)
		}
		if got.JSON200.Status != client.SubscriptionStatusFundingReceived {
			t.Errorf("status %s", got.JSON200.Status)
		}
		docs := *got.JSON200.Documents
		if len(docs) != 3 || docs[0].Current || !docs[1].Current || !docs[2].Current ||
			docs[0].MediaType != "application/pdf" || docs[1].MediaType != "image/png" || docs[2].Kind != "funding_receipt" ||
			docs[0].Size != int64(len(pdfFile)) || *docs[2].Amount != "50000.50" {
			t.Fatalf("documents %+v", docs)
		}
		if code, body := fetchFile(t, docs[0].Url); code != http.StatusOK || !bytes.Equal(body, pdfFile) {
			t.Errorf("the replaced form: %d", code)
		}

		var forms, fundings int
		if err := e.api.DB.SQL.QueryRow(`SELECT
				(SELECT count(*) FROM events WHERE type = 'signed_subscription_form.uploaded' AND subscription_id IS NOT NULL),
				(SELECT count(*) FROM events WHERE type = 'funding_receipt.uploaded' AND subscription_id IS NOT NULL)`).Scan(&forms, &fundings); err != nil {
			t.Fatal(err)
		}
		if forms != 2 || fundings != 1 {
			t.Errorf("%d form and %d funding events, want 2 and 1", forms, fundings)
		}

		if ev, err := e.client.ListEventsWithResponse(ctx, nil); err != nil || ev.JSON200 == nil {
			t.Errorf("events: %v", err)
		}
		clock.Advance(15*time.Minute + time.Second)
		if code, _ := fetchFile(t, first.JSON201.SubscriptionFormUrl); b.local && code != http.StatusNotFound {
			t.Errorf("expired URL: %d", code)
		}

		if _, err := svc.Complete(ctx, "growth", zid(0)); err != nil {
			t.Fatal(err)
		}
		f = e.uploadForm(t, "growth", zid(0), pdfFile)
		wantProblem(t, http.StatusConflict, f.Body, f.StatusCode(), "subscription_completed")
	})
}

// An upload over the limit is refused at once when its Content-Length says
// so, and before the client has sent it all when it streams.
func TestUploadLimits(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		e.spv(t, "acme", "growth", "USD", nil)
		imp := e.importRows(t, rowsFor("l", 1)...)
		zid := *imp.Results[0].ZestPersonId
		e.subscribe(t, "growth", sub(zid, "50000"))
		path := "/v1/spvs/growth/subscription/" + zid + "/forms"

		// Headers declaring 64 MiB, and not one byte of the body.
		host := strings.TrimPrefix(e.api.URL, "http://")
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n",
			path, host, e.token, 64<<20)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer before the body: %v", err)
		}
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("declared 64 MiB: %d", resp.StatusCode)
		}

		// 12 MiB streamed without a length, slowly, on a connection of its
		// own: the answer is read while the body is still being written, so
		// a server that stops reading cannot turn the 413 into a broken pipe.
		stream, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		var head bytes.Buffer
		mw := multipart.NewWriter(&head)
		part, _ := mw.CreateFormFile("file", "big.png")
		_, _ = part.Write(pngFile)
		fmt.Fprintf(stream, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
			path, host, e.token, mw.FormDataContentType())
		var sent atomic.Int64
		go func() {
			writeChunk := func(b []byte) error {
				_, err := fmt.Fprintf(stream, "%x\r\n%s\r\n", len(b), b)
				return err
			}
			if writeChunk(head.Bytes()) != nil {
				return
			}
			chunk := bytes.Repeat([]byte{1}, 256<<10)
			for range 48 {
				if writeChunk(chunk) != nil {
					return
				}
				sent.Add(int64(len(chunk)))
				time.Sleep(5 * time.Millisecond)
			}
		}()
		_ = stream.SetReadDeadline(time.Now().Add(30 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(stream), nil)
		if err != nil {
			t.Fatalf("no answer to the streamed upload: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		wantProblem(t, http.StatusRequestEntityTooLarge, body, res.StatusCode, "payload_too_large")
		if n := sent.Load(); n >= 12<<20 {
			t.Errorf("the answer came after the whole body (%d bytes)", n)
		}
	})
}

// The time of a 5 MB upload, for the record.
func TestUploadFiveMegabytes(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		e := newEnv(t, d, testkit.Options{})
		e.spv(t, "acme", "growth", "USD", nil)
		imp := e.importRows(t, rowsFor("f", 1)...)
		zid := *imp.Results[0].ZestPersonId
		e.subscribe(t, "growth", sub(zid, "50000"))
		file := append(append([]byte{}, pdfFile...), bytes.Repeat([]byte("x"), 5_000_000-len(pdfFile))...)
		start := time.Now()
		r := e.uploadForm(t, "growth", zid, file)
		if r.JSON201 == nil {
			t.Fatalf("%d %s", r.StatusCode(), r.Body)
		}
		t.Logf("%s: a 5 MB upload took %s", d, time.Since(start))
	})
}
