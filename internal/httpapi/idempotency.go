package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/httpx"
	"github.com/zestequity/zest-api/internal/idempotency"
	"github.com/zestequity/zest-api/models"
)

const idempotencyKeyHeader = "Idempotency-Key"

// prefetchedKey names, in the gin context, the Idempotency-Key record that
// authentication read along with the token: a replay is then one round trip.
const prefetchedKey = "zest.idempotency.prefetched"

type prefetched struct{ record *models.IdempotencyKey }

// idempotencyKeyOf returns the Idempotency-Key of a POST when it is well
// formed, "" otherwise. The spec's validator is the authority and answers a
// malformed or repeated key with a problem later; this only keeps such a key (which may
// hold bytes the database cannot store) away from the prefetch.
func idempotencyKeyOf(r *http.Request) string {
	keys := r.Header.Values(idempotencyKeyHeader)
	if r.Method != http.MethodPost || len(keys) != 1 || len(keys[0]) > 255 {
		return ""
	}
	key := keys[0]
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return ""
		}
	}
	return key
}

// idempotencyRequest describes c's Idempotency-Key request, or is nil when
// c carries no key (or is not a POST).
func idempotencyRequest(c *gin.Context) (*idempotency.Request, error) {
	if c.Request.Method != http.MethodPost {
		return nil, nil
	}
	// The validator reads the first value alone; which of several keys the
	// client meant is anyone's guess.
	keys := c.Request.Header.Values(idempotencyKeyHeader)
	if len(keys) > 1 {
		return nil, apperr.New(apperr.InvalidIdempotencyKey, "Send the Idempotency-Key header once, not %d times.", len(keys))
	}
	if len(keys) == 0 || keys[0] == "" {
		return nil, nil
	}
	key := keys[0]
	// Read a copy (readBody kept the bytes), leaving Body to the handler:
	// it carries the value the validator decoded.
	copied, err := c.Request.GetBody()
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(copied)
	if err != nil {
		return nil, err
	}
	r := &idempotency.Request{ClientID: httpx.InfoFrom(c.Request.Context()).ClientID, Key: key,
		Method: c.Request.Method, Route: c.FullPath(), Body: body}
	if p, ok := c.Get(prefetchedKey); ok {
		r.Prefetched, r.Record = true, p.(prefetched).record
	}
	return r, nil
}

// requestKey names, in the gin context, the Idempotency-Key request that
// settle described, for idempotent to claim without reading the body again.
const requestKey = "zest.idempotency.request"

// settle answers, before validation, a request whose Idempotency-Key
// already decides it: a replay of the stored response, or a refusal. A
// replay thus costs no more than authentication's one query.
func (s *server) settle(c *gin.Context) {
	req, err := idempotencyRequest(c)
	if err != nil {
		s.problem(c, err)
		return
	}
	if req == nil {
		return
	}
	c.Set(requestKey, req)
	replay, decided, err := s.idempotency.Settle(*req)
	switch {
	case err != nil:
		s.problem(c, err)
	case decided:
		s.replay(c, replay)
	}
}

func (s *server) replay(c *gin.Context, r *idempotency.Response) {
	httpx.InfoFrom(c.Request.Context()).Replayed = true
	c.Header("Idempotent-Replayed", "true")
	c.Data(r.Status, r.ContentType, r.Body)
	c.Abort()
}

// idempotent applies Idempotency-Key, after validation, to every POST that
// carries one (as settle found) and that settle did not answer: the first request claims the
// key and its response is stored; a replay receives that response, byte for
// byte, and causes nothing.
func (s *server) idempotent(c *gin.Context) {
	v, ok := c.Get(requestKey)
	if !ok {
		return
	}
	req := v.(*idempotency.Request)
	ctx := c.Request.Context()
	claim, replay, err := s.idempotency.Begin(ctx, *req)
	if err != nil {
		s.problem(c, err)
		return
	}
	if replay != nil {
		s.replay(c, replay)
		return
	}

	// The response is stored once sent, even if the client has gone.
	store := context.WithoutCancel(ctx)
	rec := &recorder{ResponseWriter: c.Writer}
	c.Writer = rec
	done := false
	defer func() {
		if !done { // a panic: the recovery middleware answers 500
			s.idempotency.Release(store, claim)
		}
	}()
	c.Next()
	done = true
	if status := rec.Status(); idempotency.Storable(status) {
		s.idempotency.Complete(store, claim, idempotency.Response{
			Status: status, ContentType: rec.Header().Get("Content-Type"), Body: rec.body.Bytes(),
		})
	} else {
		s.idempotency.Release(store, claim)
	}
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
