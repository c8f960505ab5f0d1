package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/zestequity/zest-api/idempotency"
	"github.com/zestequity/zest-api/models"
	"github.com/zestequity/zest-api/reqctx"
)

const idempotencyKeyHeader = "Idempotency-Key"

// prefetchedKey names, in the gin context, the Idempotency-Key record that
// authentication read along with the token: a replay is then one round trip.
const prefetchedKey = "zest.idempotency.prefetched"

type prefetched struct{ record *models.IdempotencyKey }

// idempotencyKeyOf returns the Idempotency-Key of a POST when it is well
// formed, "" otherwise. The spec's validator is the authority and answers a
// malformed key with a problem later; this only keeps such a key (which may
// hold bytes the database cannot store) away from the prefetch.
func idempotencyKeyOf(r *http.Request) string {
	key := r.Header.Get(idempotencyKeyHeader)
	if r.Method != http.MethodPost || len(key) > 255 {
		return ""
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return ""
		}
	}
	return key
}

// idempotent applies Idempotency-Key to every POST that carries one (the
// validator has checked its syntax against the spec): the first request
// claims the key and its response is stored; a replay receives that
// response, byte for byte, and causes nothing.
func (s *server) idempotent(c *gin.Context) {
	key := c.GetHeader(idempotencyKeyHeader)
	if c.Request.Method != http.MethodPost || key == "" {
		return
	}
	ctx := c.Request.Context()
	info := reqctx.From(ctx)
	// Read a copy (readBody kept the bytes), leaving Body to the handler:
	// it carries the value the validator decoded.
	copied, err := c.Request.GetBody()
	if err != nil {
		s.problem(c, err)
		return
	}
	body, err := io.ReadAll(copied)
	if err != nil {
		s.problem(c, err)
		return
	}

	req := idempotency.Request{ClientID: info.ClientID, Key: key, Method: c.Request.Method, Route: c.FullPath(), Body: body}
	if p, ok := c.Get(prefetchedKey); ok {
		req.Prefetched, req.Record = true, p.(prefetched).record
	}
	claim, replay, err := s.idempotency.Begin(ctx, req)
	if err != nil {
		s.problem(c, err)
		return
	}
	if replay != nil {
		info.Replayed = true
		c.Header("Idempotent-Replayed", "true")
		c.Data(replay.Status, replay.ContentType, replay.Body)
		c.Abort()
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
