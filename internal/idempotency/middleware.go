package idempotency

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/httpx"
)

// Header is the request header that carries a key.
const Header = "Idempotency-Key"

// Middleware applies Idempotency-Key to the POSTs that carry one, in two
// steps around request validation: Settle answers a request that its key
// already decides, before validation, and Apply claims the key of any other
// after validation, so that a request validation refuses never claims one.
type Middleware struct {
	svc *Service
	// problem answers a request with an error; the mapping of errors to
	// problems belongs to the HTTP layer.
	problem func(*gin.Context, error)
}

// NewMiddleware returns the middleware of svc.
func NewMiddleware(svc *Service, problem func(*gin.Context, error)) *Middleware {
	return &Middleware{svc: svc, problem: problem}
}

// settledKey names, in the gin context, the request that Settle described
// and read the record of, for Apply to claim without reading either again.
const settledKey = "zest.idempotency.request"

// Settle answers, before validation, a request whose key decides it: with
// the stored response, or with a refusal. The stored response was made for
// this very request, which passed validation then.
func (m *Middleware) Settle(c *gin.Context) {
	// Keys are scoped to a tenant, so an unauthenticated route has none:
	// replaying the token endpoint's answer would hand an access token to
	// whoever repeats the request, past the assertion's one-time jti.
	if c.Request.Method != http.MethodPost || httpx.InfoFrom(c.Request.Context()).ClientID == "" {
		return
	}
	// The validator reads the first value alone; which of several keys the
	// client meant is anyone's guess.
	keys := c.Request.Header.Values(Header)
	if len(keys) > 1 {
		m.problem(c, apperr.New(apperr.InvalidIdempotencyKey, "Send the Idempotency-Key header once, not %d times.", len(keys)))
		return
	}
	if len(keys) == 0 || keys[0] == "" || !wellFormed(keys[0]) {
		// A malformed key (which may hold bytes the database cannot store)
		// is the validator's to refuse, with the spec's own message.
		return
	}
	key := keys[0]
	// Read a copy (the body reader kept the bytes), leaving Body to the
	// handler: it carries the value the validator decodes. A streamed body
	// (an upload) was not kept: its key stands for the request whatever
	// its body, as the contract says.
	var body []byte
	if c.Request.GetBody != nil {
		copied, err := c.Request.GetBody()
		if err != nil {
			m.problem(c, err)
			return
		}
		if body, err = io.ReadAll(copied); err != nil {
			m.problem(c, err)
			return
		}
	}
	req := &Request{ClientID: httpx.InfoFrom(c.Request.Context()).ClientID, Key: key,
		Method: c.Request.Method, Route: c.FullPath(), Body: body}
	replay, decided, err := m.svc.Settle(c.Request.Context(), req)
	switch {
	case err != nil:
		m.problem(c, err)
	case decided:
		m.replay(c, replay)
	default:
		c.Set(settledKey, req)
	}
}

// wellFormed reports whether key is within the spec's limits (1-255
// printable ASCII characters); the validator explains any other.
func wellFormed(key string) bool {
	if len(key) > 255 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Apply runs, after validation, every request that Settle let through: the
// first claims the key and its response is stored; a replay that raced it
// receives that response, byte for byte, and causes nothing.
func (m *Middleware) Apply(c *gin.Context) {
	v, ok := c.Get(settledKey)
	if !ok {
		return
	}
	req := v.(*Request)
	ctx := c.Request.Context()
	claim, replay, err := m.svc.Begin(ctx, *req)
	if err != nil {
		m.problem(c, err)
		return
	}
	if replay != nil {
		m.replay(c, replay)
		return
	}

	// The response is stored once sent, even if the client has gone.
	store := context.WithoutCancel(ctx)
	rec := &recorder{ResponseWriter: c.Writer}
	c.Writer = rec
	done := false
	defer func() {
		if !done { // a panic: the recovery middleware answers 500
			m.svc.Release(store, claim)
		}
	}()
	c.Next()
	done = true
	// A response holding a retryable row failure is released like a 5xx: the
	// partner is told to retry with the same key, and the retry must run.
	if status := rec.Status(); Storable(status) && !httpx.InfoFrom(ctx).Retryable {
		m.svc.Complete(store, claim, Response{
			Status: status, ContentType: rec.Header().Get("Content-Type"), Body: rec.body.Bytes(),
		})
	} else {
		m.svc.Release(store, claim)
	}
}

func (m *Middleware) replay(c *gin.Context, r *Response) {
	httpx.InfoFrom(c.Request.Context()).Replayed = true
	c.Header("Idempotent-Replayed", "true")
	c.Data(r.Status, r.ContentType, r.Body)
	c.Abort()
}

// recorder keeps a copy of the response body as it is written.
type recorder struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) WriteString(s string) (int, error) {
	r.body.WriteString(s)
	return r.ResponseWriter.WriteString(s)
}
