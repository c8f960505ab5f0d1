// Package idempotency implements Idempotency-Key: a tenant's key is claimed
// atomically before its request runs, then holds the response, which
// replays of the same request receive byte for byte until the key expires.
//
// It follows the IETF httpapi draft "The Idempotency-Key HTTP Header Field"
// and Stripe's behaviour: a key is bound to its method, route and request
// body (canonical JSON, so whitespace and key order do not matter); reusing it
// for another request is refused (422), as is a concurrent request while the
// first still runs (409). A claim abandoned by a process that died expires
// after a lock timeout, and the next retry runs the request again.
//
// All state is in the database: any number of server processes may share it.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/periodic"
	"github.com/zestequity/zest-api/models"
)

// Defaults of the configurable durations.
const (
	DefaultTTL         = 24 * time.Hour
	DefaultLockTimeout = time.Minute
)

// Request identifies a request that carries a key.
type Request struct {
	ClientID string
	Key      string
	Method   string
	Route    string
	Body     []byte
	// Prefetched says that Record is the key's record as Settle read it
	// moments ago (nil: there was none), so that Begin need not read it again.
	Prefetched bool
	Record     *models.IdempotencyKey
}

// Response is what a completed request answered.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// Claim is the right to run a request for its key.
type Claim struct {
	clientID, key, lockID string
}

// Store is the persistence the service needs; every database driver under
// internal/store implements it.
type Store interface {
	// ClaimIdempotencyKey inserts the record unless the tenant's key exists:
	// of concurrent claimants, exactly one wins.
	ClaimIdempotencyKey(ctx context.Context, rec models.IdempotencyKey) (bool, error)
	// IdempotencyKey returns models.ErrNotFound when the tenant has no such key.
	IdempotencyKey(ctx context.Context, clientID, key string) (models.IdempotencyKey, error)
	// TakeOverIdempotencyKey replaces a record that has expired, or whose
	// claim was abandoned, with rec; of concurrent takers, one does.
	TakeOverIdempotencyKey(ctx context.Context, rec models.IdempotencyKey, now time.Time) (bool, error)
	// CompleteIdempotencyKey stores the response of a claimed key; false when
	// the claim was lost meanwhile.
	CompleteIdempotencyKey(ctx context.Context, clientID, key, lockID string, status int, headers string, body []byte) (bool, error)
	ReleaseIdempotencyKey(ctx context.Context, clientID, key, lockID string) error
	// SweepIdempotencyKeys deletes up to limit records that expired by now,
	// without waiting on other sweepers.
	SweepIdempotencyKeys(ctx context.Context, now time.Time, limit int) (int64, error)
}

// Service manages idempotency keys.
type Service struct {
	store       Store
	ttl         time.Duration
	lockTimeout time.Duration
	now         func() time.Time
	log         *slog.Logger
}

// Options configure a Service; zero values take the defaults.
type Options struct {
	TTL         time.Duration
	LockTimeout time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
}

// New returns a Service.
func New(st Store, opts Options) *Service {
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{store: st, ttl: opts.TTL, lockTimeout: opts.LockTimeout, now: opts.Now, log: opts.Logger}
}

// Begin decides what to do with a request that carries a key: run it (a
// Claim), or answer it with the stored response (a Response). Mismatched
// reuse and concurrent use are errors with codes of their own.
func (s *Service) Begin(ctx context.Context, r Request) (*Claim, *Response, error) {
	now := s.now().UTC()
	lockID := ids.New("lck_")
	lockedUntil := now.Add(s.lockTimeout)
	rec := models.IdempotencyKey{
		ClientID: r.ClientID, Key: r.Key, Method: r.Method, Route: r.Route, Fingerprint: Fingerprint(r.Body),
		LockID: &lockID, LockedUntil: &lockedUntil, CreatedAt: now, ExpiresAt: now.Add(s.ttl),
	}
	claim := &Claim{clientID: r.ClientID, key: r.Key, lockID: lockID}
	// Read first, so that a replay costs one query; a key that is not there
	// is claimed by an insert that one of concurrent claimants wins. A record
	// can also vanish between two steps (released after a 5xx, or swept);
	// the loop then decides again.
	for attempt := range 3 {
		var got models.IdempotencyKey
		var err error
		switch {
		case attempt == 0 && r.Prefetched && r.Record == nil:
			err = models.ErrNotFound
		case attempt == 0 && r.Prefetched:
			got = *r.Record
		default:
			got, err = s.store.IdempotencyKey(ctx, r.ClientID, r.Key)
		}
		if errors.Is(err, models.ErrNotFound) {
			claimed, err := s.store.ClaimIdempotencyKey(ctx, rec)
			if err != nil || claimed {
				return claim, nil, err
			}
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if resp, decided, err := decide(got, rec, now); decided {
			return nil, resp, err
		}
		// Expired, or claimed by a request that never completed: take over.
		took, err := s.store.TakeOverIdempotencyKey(ctx, rec, now)
		if err != nil || took {
			return claim, nil, err
		}
	}
	return nil, nil, errInUse
}

// Settle answers a request from its key's record, which it reads into r so
// that Begin need not read it again: with the stored response, or with a
// refusal (mismatched reuse, concurrent use). It reports false when the
// request is to run, which Begin then claims.
func (s *Service) Settle(ctx context.Context, r *Request) (*Response, bool, error) {
	rec, err := s.store.IdempotencyKey(ctx, r.ClientID, r.Key)
	switch {
	case errors.Is(err, models.ErrNotFound):
		r.Prefetched, r.Record = true, nil
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	r.Prefetched, r.Record = true, &rec
	want := models.IdempotencyKey{Method: r.Method, Route: r.Route, Fingerprint: Fingerprint(r.Body)}
	return decide(rec, want, s.now().UTC())
}

// decide answers a request (its method, route and fingerprint in want) from
// its key's record got, unless the record has expired or its claim was
// abandoned: then the request is to run, and decided is false.
func decide(got, want models.IdempotencyKey, now time.Time) (resp *Response, decided bool, err error) {
	if !got.ExpiresAt.After(now) {
		return nil, false, nil
	}
	if got.Method != want.Method || got.Route != want.Route || got.Fingerprint != want.Fingerprint {
		return nil, true, apperr.New(apperr.IdempotencyKeyMismatch,
			"This Idempotency-Key was used with a different request (method, path or body). Use a new key for a new request.")
	}
	if got.ResponseStatus != nil {
		return storedResponse(got), true, nil
	}
	if got.LockedUntil != nil && got.LockedUntil.After(now) {
		return nil, true, errInUse
	}
	return nil, false, nil
}

var errInUse = apperr.New(apperr.IdempotencyKeyInUse,
	"A request with this Idempotency-Key is still being processed. Retry after it completes.")

func storedResponse(rec models.IdempotencyKey) *Response {
	r := &Response{Status: *rec.ResponseStatus, Body: rec.ResponseBody}
	if rec.ResponseHeaders != nil {
		var h map[string]string
		if json.Unmarshal([]byte(*rec.ResponseHeaders), &h) == nil {
			r.ContentType = h["Content-Type"]
		}
	}
	if r.Body == nil {
		r.Body = []byte{}
	}
	return r
}

// Storable reports whether a response is kept for replays: what the handler
// answered, but not a conflict, a rate limit or a server failure, after
// which a retry must run again.
func Storable(status int) bool {
	return status < 500 && status != http.StatusConflict && status != http.StatusTooManyRequests
}

// Complete stores the response of a claimed request. The response was sent
// already, so a failure here is logged, not returned: the claim then expires
// after the lock timeout and a retry runs the request again.
func (s *Service) Complete(ctx context.Context, c *Claim, resp Response) {
	headers, _ := json.Marshal(map[string]string{"Content-Type": resp.ContentType})
	ok, err := s.store.CompleteIdempotencyKey(ctx, c.clientID, c.key, c.lockID, resp.Status, string(headers), resp.Body)
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "storing the response of an idempotency key failed", "client_id", c.clientID, "error", err)
	case !ok:
		s.log.WarnContext(ctx, "idempotency key claim expired before its request completed; its response is not stored",
			"client_id", c.clientID, "lock_timeout", s.lockTimeout.String())
	}
}

// Release gives a claimed key up, so that a retry runs the request anew.
func (s *Service) Release(ctx context.Context, c *Claim) {
	if err := s.store.ReleaseIdempotencyKey(ctx, c.clientID, c.key, c.lockID); err != nil {
		s.log.ErrorContext(ctx, "releasing an idempotency key failed; it frees itself after the lock timeout",
			"client_id", c.clientID, "error", err)
	}
}

// sweepBatch bounds the rows one sweep statement deletes, so that it holds
// its locks briefly.
const sweepBatch = 1000

// Sweep deletes every expired record, in bounded batches, and returns how
// many it deleted.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := s.store.SweepIdempotencyKeys(ctx, s.now().UTC(), sweepBatch)
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, func(ctx context.Context) {
		n, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "sweeping expired idempotency keys failed", "error", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "swept expired idempotency keys", "deleted", n)
		}
	})
}

// Fingerprint hashes a request body as canonical JSON (object keys sorted,
// no insignificant whitespace, numbers as written), so that re-serialising
// the same request does not count as a different one. A body that is not
// JSON is hashed as it is.
func Fingerprint(body []byte) string {
	canonical := body
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err == nil {
		if b, err := json.Marshal(v); err == nil {
			canonical = b
		}
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}
