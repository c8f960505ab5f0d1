package subscriptions

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/webhooks"
	"github.com/zestequity/zest-api/models"
)

// Files is the object storage of uploaded files.
type Files interface {
	// Put stores r under key; a failed write leaves nothing under key.
	Put(ctx context.Context, key, contentType string, r io.Reader) error
	// Delete removes the file under key; a file already gone is no error.
	Delete(ctx context.Context, key string) error
	// URL returns a time-limited signed URL of the file under key.
	URL(ctx context.Context, key string) (string, error)
	// Older calls fn with the keys of the files under prefix last written
	// before cutoff, at most pageSize at a time; fn may delete them.
	Older(ctx context.Context, prefix string, cutoff time.Time, pageSize int, fn func(keys []string) error) error
}

// FileOptions tune the upkeep of the files; zero values are the defaults.
type FileOptions struct {
	// Grace is how old a file without its document must be before the
	// sweep deletes it (default FileGrace).
	Grace time.Duration
	// SweepPage is how many files the sweep lists at a time (default 1000,
	// S3's largest page).
	SweepPage int
	// Origin returns the scheme and host a request reached this server at,
	// which the URLs of the files the server serves itself (a local
	// directory's) are made absolute on: answers and webhook payloads carry
	// URLs a partner can open as they are.
	Origin func(context.Context) string
}

// WithFiles makes the service take uploads into files.
func (s *Service) WithFiles(f Files, opts FileOptions) *Service {
	s.files = f
	s.fileGrace = cmp.Or(opts.Grace, FileGrace)
	s.sweepPage = cmp.Or(opts.SweepPage, 1000)
	s.origin = opts.Origin
	return s
}

// fileURL is the signed URL of the file under key, absolute.
func (s *Service) fileURL(ctx context.Context, key string) (string, error) {
	u, err := s.files.URL(ctx, key)
	if err == nil && strings.HasPrefix(u, "/") && s.origin != nil {
		u = s.origin(ctx) + u
	}
	return u, err
}

// MaxFileBytes is the largest uploaded file.
const MaxFileBytes = 10 << 20

// maxFieldBytes bounds each multipart field that is not the file.
const maxFieldBytes = 1024

// allowedTypes are the media types of uploads, as http.DetectContentType
// names them.
var allowedTypes = []string{"application/pdf", "image/jpeg", "image/png", "image/webp"}

// Document is an uploaded file of a subscription, with a signed URL.
type Document struct {
	models.SubscriptionDocument
	URL     string
	Current bool
}

// Uploaded is the answer to an upload.
type Uploaded struct {
	Subscription Subscription
	Document     Document
}

// UploadForm stores the signed subscription form the multipart body's file
// part carries.
func (s *Service) UploadForm(ctx context.Context, clientID, spvSlug, zestPersonID string, body *multipart.Reader) (Uploaded, error) {
	return s.upload(ctx, clientID, spvSlug, zestPersonID, models.DocumentSubscriptionForm, body)
}

// UploadFunding stores the funding receipt the multipart body's file part
// carries, with the funding's amount, currency and wire reference.
func (s *Service) UploadFunding(ctx context.Context, clientID, spvSlug, zestPersonID string, body *multipart.Reader) (Uploaded, error) {
	return s.upload(ctx, clientID, spvSlug, zestPersonID, models.DocumentFundingReceipt, body)
}

func (s *Service) upload(ctx context.Context, clientID, spvSlug, zestPersonID, kind string, body *multipart.Reader) (Uploaded, error) {
	sub, spvID, partnerID, err := s.uploadTarget(ctx, clientID, spvSlug, zestPersonID, kind)
	if err != nil {
		return Uploaded{}, err
	}
	doc := models.SubscriptionDocument{SubscriptionID: sub.ID, Kind: kind,
		BlobKey: blobPrefix + sub.SubscriptionSlug + "/" + ids.Sorted("doc_")}
	fields := map[string]string{}
	stored, keep := false, false
	var deadline time.Time
	// A stored file is removed when the upload is refused before its row
	// may have been written; a file that stays without a row is harmless,
	// a row without its file is not.
	defer func() {
		if stored && !keep {
			_ = s.files.Delete(context.WithoutCancel(ctx), doc.BlobKey)
		}
	}()
	for {
		part, err := body.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Uploaded{}, bodyError(err, "The multipart body is malformed.")
		}
		switch name := part.FormName(); {
		case name == "file" && !stored:
			// Counted from the start of the write, which a bucket may date
			// the file from, and on the real clock, which deadlines run on.
			deadline = time.Now().Add(s.fileGrace / 2)
			if err := s.storeFile(ctx, &doc, part); err != nil {
				return Uploaded{}, err
			}
			stored = true
		case name == "file":
			return Uploaded{}, apperr.New(apperr.InvalidRequest, "Send one file part.")
		case kind == models.DocumentFundingReceipt && slices.Contains([]string{"amount", "currency", "wireReference"}, name):
			v, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return Uploaded{}, bodyError(err, "The multipart body could not be read.")
			}
			if len(v) > maxFieldBytes {
				return Uploaded{}, apperr.New(apperr.InvalidRequest, "%s is longer than %d bytes.", name, maxFieldBytes)
			}
			fields[name] = string(v)
		default:
			return Uploaded{}, apperr.New(apperr.InvalidRequest, "The multipart body has an unknown part.")
		}
	}
	if !stored {
		return Uploaded{}, apperr.New(apperr.InvalidRequest, "The file part is required.")
	}
	if kind == models.DocumentFundingReceipt {
		if err := fundingFields(&doc, fields, sub.Currency); err != nil {
			return Uploaded{}, err
		}
	}
	// The sweep takes a file that has no document after the grace period for
	// one a crash left behind: the document is written well before then, or
	// not at all, however slowly the database answers.
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	out, written, err := s.record(rctx, clientID, spvID, sub, partnerID, doc)
	keep = written
	return out, err
}

// uploadTarget finds the subscription an upload is for, through the
// investor's User, and refuses an upload its status does not admit.
func (s *Service) uploadTarget(ctx context.Context, clientID, spvSlug, zestPersonID, kind string) (_ Subscription, spvID int64, partnerInvestorID string, _ error) {
	spv, err := s.SPV(ctx, clientID, spvSlug)
	if err != nil {
		return Subscription{}, 0, "", err
	}
	inv, err := s.store.Investors(ctx, clientID, []string{zestPersonID})
	if err != nil {
		return Subscription{}, 0, "", err
	}
	if len(inv) == 0 {
		return Subscription{}, 0, "", apperr.New(apperr.NotFound, "No investor with this personId.")
	}
	sub, err := s.store.SubscriptionByPerson(ctx, spv.ID, zestPersonID)
	if errors.Is(err, models.ErrNotFound) {
		return sub, 0, "", apperr.New(apperr.NotFound, "The investor has no subscription to this SPV.")
	}
	if err != nil {
		return sub, 0, "", err
	}
	return sub, spv.ID, inv[0].PartnerInvestorID, statusAdmits(sub.Status, kind)
}

// nextStatus is the status an upload of kind moves a subscription in
// status to: a form replaced after the funding leaves it where it is.
func nextStatus(status, kind string) string {
	if kind == models.DocumentFundingReceipt || status == models.SubscriptionFundingReceived {
		return models.SubscriptionFundingReceived
	}
	return models.SubscriptionFormReceived
}

func statusAdmits(status, kind string) error {
	switch {
	case status == models.SubscriptionCompleted:
		return apperr.New(apperr.SubscriptionCompleted, "The subscription is completed and takes no more uploads.")
	case kind == models.DocumentFundingReceipt && status == models.SubscriptionPending:
		return apperr.New(apperr.FormRequired, "Upload the signed subscription form before the funding receipt.")
	}
	return nil
}

// storeFile streams the file part to object storage, hashing it, after
// deciding its type from its first bytes.
func (s *Service) storeFile(ctx context.Context, doc *models.SubscriptionDocument, part io.Reader) error {
	head := make([]byte, 512)
	n, err := io.ReadFull(part, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return bodyError(err, "The file could not be read.")
	}
	head = head[:n]
	doc.MediaType = http.DetectContentType(head)
	if !slices.Contains(allowedTypes, doc.MediaType) {
		return apperr.New(apperr.UnsupportedMediaType, "The file must be a PDF, JPEG, PNG or WEBP.")
	}
	h := sha256.New()
	limited := &limitReader{r: io.MultiReader(bytes.NewReader(head), part), left: MaxFileBytes}
	counted := &countWriter{w: h}
	if err := s.files.Put(ctx, doc.BlobKey, doc.MediaType, io.TeeReader(limited, counted)); err != nil {
		if limited.over {
			return apperr.New(apperr.PayloadTooLarge, "The file exceeds %d bytes.", MaxFileBytes)
		}
		return bodyError(err, "The file could not be read.")
	}
	doc.SHA256, doc.Size = hex.EncodeToString(h.Sum(nil)), counted.n
	return nil
}

var errTooLarge = errors.New("the file exceeds the limit")

// limitReader fails, rather than ending quietly like io.LimitReader, once
// more than left bytes come: a truncated file must never be stored.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.over = true
		return 0, errTooLarge
	}
	return n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.w.Write(p)
}

// bodyError keeps an apperr from the HTTP layer's body limit (413) and
// makes any other read failure the client's.
func bodyError(err error, detail string) error {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae
	}
	return apperr.Wrap(err, apperr.InvalidRequest, "%s", detail)
}

func fundingFields(doc *models.SubscriptionDocument, f map[string]string, currency string) error {
	for _, name := range []string{"amount", "currency", "wireReference"} {
		if strings.TrimSpace(f[name]) == "" {
			return apperr.New(apperr.InvalidRequest, "%s is required.", name)
		}
	}
	if !ValidCurrency(f["currency"]) {
		return apperr.New(apperr.InvalidRequest, "currency must be an ISO 4217 code.")
	}
	if f["currency"] != currency {
		return apperr.New(apperr.CurrencyMismatch, "currency must be the subscription's currency, %s.", currency)
	}
	_, amount, problem := ParseAmount(f["amount"], currency)
	if problem != "" {
		return apperr.New(apperr.InvalidRequest, "amount %s.", problem)
	}
	wire, cur := f["wireReference"], f["currency"]
	switch {
	case !utf8.ValidString(wire):
		return apperr.New(apperr.InvalidRequest, "wireReference must be UTF-8 text.")
	case strings.ContainsFunc(wire, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return apperr.New(apperr.InvalidRequest, "wireReference must not contain control characters.")
	case utf8.RuneCountInString(wire) > 140:
		return apperr.New(apperr.InvalidRequest, "wireReference is longer than 140 characters.")
	}
	doc.Amount, doc.Currency, doc.WireReference = &amount, &cur, &wire
	return nil
}

// record writes the document's metadata, the status change and the event
// in one transaction, after the file is stored. written is false only when
// no row was written for certain.
func (s *Service) record(ctx context.Context, clientID string, spvID int64, sub Subscription, partnerInvestorID string, doc models.SubscriptionDocument) (_ Uploaded, written bool, _ error) {
	at := s.now().UTC().Truncate(time.Microsecond)
	doc.UploadedAt = at
	url, err := s.fileURL(ctx, doc.BlobKey)
	if err != nil {
		return Uploaded{}, false, err
	}
	var ev models.Event
	if doc.Kind == models.DocumentFundingReceipt {
		ev, err = webhooks.DocumentUploaded(clientID, sub.ID, models.EventFundingUploaded, webhooks.FundingUploadedData{
			SubscriptionSlug: sub.SubscriptionSlug, SPVSlug: sub.SPVSlug, PersonID: sub.PersonID, FundingReceiptURL: url,
			Amount: *doc.Amount, Currency: *doc.Currency, WireReference: *doc.WireReference, UploadedAt: at.Format(time.RFC3339Nano),
		}, at)
	} else {
		ev, err = webhooks.DocumentUploaded(clientID, sub.ID, models.EventFormUploaded, webhooks.FormUploadedData{
			SubscriptionSlug: sub.SubscriptionSlug, SPVSlug: sub.SPVSlug, PersonID: sub.PersonID, PartnerInvestorID: &partnerInvestorID,
			SubscriptionFormURL: url, UploadedAt: at.Format(time.RFC3339Nano),
		}, at)
	}
	if err != nil {
		return Uploaded{}, false, err
	}
	// The status is written only if it is still the one read: a concurrent
	// upload or completion makes the upload be judged again.
	for range 3 {
		status := nextStatus(sub.Status, doc.Kind)
		ok, err := s.store.RecordDocument(ctx, doc, []string{sub.Status}, status, ev)
		if err != nil {
			return Uploaded{}, true, err
		}
		if ok {
			sub.Status = status
			return Uploaded{Subscription: sub, Document: Document{SubscriptionDocument: doc, URL: url, Current: true}}, true, nil
		}
		now, err := s.store.SubscriptionByPerson(ctx, spvID, sub.PersonID)
		if err != nil {
			return Uploaded{}, false, err
		}
		if err := statusAdmits(now.Status, doc.Kind); err != nil {
			return Uploaded{}, false, err
		}
		sub.Status = now.Status
	}
	return Uploaded{}, false, apperr.New(apperr.Unavailable, "The subscription kept changing during the upload; retry.")
}

func (s *Service) documents(ctx context.Context, subscriptionID int64) ([]Document, error) {
	docs, err := s.store.Documents(ctx, subscriptionID)
	if err != nil {
		return nil, err
	}
	out := make([]Document, len(docs))
	latest := map[string]int{}
	for i, d := range docs {
		if d.Amount != nil && d.Currency != nil {
			a := canonical(*d.Amount, *d.Currency)
			d.Amount = &a
		}
		url, err := s.fileURL(ctx, d.BlobKey)
		if err != nil {
			return nil, err
		}
		out[i] = Document{SubscriptionDocument: d, URL: url}
		latest[d.Kind] = i
	}
	for _, i := range latest {
		out[i].Current = true
	}
	return out, nil
}
