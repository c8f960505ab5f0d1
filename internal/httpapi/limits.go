package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/httpx"
	"github.com/zestequity/zest-api/internal/subscriptions"
)

// importOperation is the operation whose concurrency each tenant is capped
// at, and whose rows are checked one by one.
const importOperation = "importInvestors"

// readBody reads the whole request body, up to max bytes, before the
// validator sees it: an oversized body is a 413 whether or not it declared
// its length, and a JSON body must be exactly one JSON value of UTF-8 text
// (decoders further on would silently ignore trailing bytes, and read bytes
// that are not UTF-8 as U+FFFD).
//
// An operation that takes no body never reads one: the connection is
// closed after the answer instead, so that a client cannot make the server
// buffer, drain or wait for bytes nobody asked for.
func (s *server) readBody(ops map[string]routeOp, max int64, budget *bodyBudget) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body == nil || c.Request.Body == http.NoBody {
			return
		}
		op := ops[routeKey(c)]
		if !op.body {
			if c.Request.ContentLength != 0 {
				abandonBody(c)
			}
			c.Request.Body, c.Request.ContentLength = http.NoBody, 0
			return
		}
		if op.streamed {
			s.streamBody(c)
			return
		}
		if err := utf8Only(c.GetHeader("Content-Type")); err != nil {
			s.problem(c, err)
			return
		}
		tooLarge := apperr.New(apperr.PayloadTooLarge, "The request body exceeds %d bytes.", max)
		if c.Request.ContentLength > max {
			s.problem(c, tooLarge)
			return
		}
		// A body of unknown length may be as long as the limit.
		reserve := max
		if c.Request.ContentLength >= 0 {
			reserve = c.Request.ContentLength
		}
		if !budget.take(reserve) {
			s.problem(c, &apperr.Error{Code: apperr.Unavailable, RetryAfter: time.Second,
				Detail: "The server is receiving too many request bodies at once. Retry after Retry-After."})
			return
		}
		defer budget.give(reserve)

		body, err := readAll(http.MaxBytesReader(c.Writer, c.Request.Body, max), c.Request.ContentLength)
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			s.problem(c, tooLarge)
			return
		case err != nil:
			s.problem(c, apperr.Wrap(err, apperr.InvalidRequest, "The request body could not be read."))
			return
		}
		httpx.InfoFrom(c.Request.Context()).BodyRead = true
		if isJSON(c.ContentType()) && len(body) > 0 {
			if !json.Valid(body) {
				s.problem(c, apperr.New(apperr.InvalidJSON, "The request body is not valid JSON."))
				return
			}
			if !utf8.Valid(body) {
				if err := notUTF8Problem(body, op.id == importOperation, httpx.InfoFrom(c.Request.Context())); err != nil {
					s.problem(c, err)
					return
				}
			}
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		c.Request.ContentLength = int64(len(body))
		c.Request.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		c.Next()
	}
}

// readAll reads r to its end. A body of declared length is read into one
// buffer of that size: io.ReadAll's doubling from 512 bytes would allocate
// and copy a 1000-row batch about four times over.
func readAll(r io.Reader, length int64) ([]byte, error) {
	if length <= 0 {
		return io.ReadAll(r)
	}
	var buf bytes.Buffer
	// ReadFrom asks for bytes.MinRead of room before each read, the one
	// that finds the end included.
	buf.Grow(int(length) + bytes.MinRead)
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// maxStreamedBytes bounds a streamed (upload) body: the largest file and
// room for the multipart framing and the other fields.
const maxStreamedBytes = subscriptions.MaxFileBytes + 64<<10

// streamBody hands an upload's body to the handler unread: a body declared
// too large is refused at once, and one that grows too large while it
// streams fails its handler's read with a 413.
func (s *server) streamBody(c *gin.Context) {
	if c.Request.ContentLength > maxStreamedBytes {
		abandonBody(c)
		s.problem(c, apperr.New(apperr.PayloadTooLarge, "The request body exceeds %d bytes.", maxStreamedBytes))
		return
	}
	c.Request.Body = &streamedBody{ReadCloser: c.Request.Body, left: maxStreamedBytes, c: c}
}

// streamedBody fails with a 413 once more than left bytes arrive, and then
// stops reading the connection, so that the client is answered without
// the server taking in the rest.
type streamedBody struct {
	io.ReadCloser
	left int64
	c    *gin.Context
}

func (b *streamedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, apperr.New(apperr.PayloadTooLarge, "The request body exceeds %d bytes.", maxStreamedBytes)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		abandonBody(b.c)
		return 0, apperr.New(apperr.PayloadTooLarge, "The request body exceeds %d bytes.", maxStreamedBytes)
	}
	return n, err
}

// abandonBody makes sure the request's body is never read: net/http would
// otherwise read up to 256 KiB of it after the answer, as slowly as the
// client sends it, to reuse the connection. The connection is closed
// instead.
func abandonBody(c *gin.Context) {
	c.Header("Connection", "close")
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now())
}

// utf8Only refuses a Content-Type whose charset is not UTF-8: JSON is UTF-8
// (RFC 8259), and reading another charset as UTF-8 would store other
// characters than the client meant.
func utf8Only(contentType string) error {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil // the validator explains a malformed Content-Type
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return apperr.New(apperr.UnsupportedMediaType, "Only UTF-8 is accepted: send Content-Type application/json with charset=utf-8 or no charset.")
	}
	return nil
}

// notUTF8Problem explains a JSON body with strings that are not UTF-8. In
// an import, bad bytes inside rows fail those rows alone (recorded in info);
// anywhere else they fail the request.
func notUTF8Problem(body []byte, isImport bool, info *httpx.Info) error {
	bad := findNotUTF8(body)
	rows := map[int]string{}
	for _, b := range bad {
		i, err := strconv.Atoi(pathAt(b.path, 1))
		if !isImport || len(b.path) < 2 || b.path[0] != "investors" || err != nil {
			return apperr.New(apperr.InvalidJSON, "The request body is not UTF-8 text: the %s at %s has bytes that are not UTF-8.",
				map[bool]string{true: "member name", false: "string"}[b.name], b.pointer())
		}
		field := ""
		if len(b.path) >= 3 && !(b.name && len(b.path) == 3) {
			field = b.path[2]
		}
		if prev, seen := rows[i]; !seen || (prev != "" && field == "") {
			rows[i] = field
		}
	}
	if len(bad) == 0 {
		// Bytes outside strings that are not UTF-8 fail json.Valid first.
		return apperr.New(apperr.InvalidJSON, "The request body is not UTF-8 text.")
	}
	info.NotUTF8Rows = rows
	return nil
}

func pathAt(path []string, i int) string {
	if i < len(path) {
		return path[i]
	}
	return ""
}

func isJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// bodyBudget caps the bytes of request bodies this process holds at once,
// so that many clients sending large bodies together are told to retry
// rather than take the memory of the process.
type bodyBudget struct {
	max  int64 // 0: no cap
	used atomic.Int64
}

func (b *bodyBudget) take(n int64) bool {
	if b.max == 0 {
		return true
	}
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *bodyBudget) give(n int64) {
	if b.max != 0 {
		b.used.Add(-n)
	}
}

// tenantLimits are the per-tenant limits of this process: a token bucket
// of requests, and a cap on imports running at once. Several processes
// each apply their own.
type tenantLimits struct {
	rate    rate.Limit // 0: no rate limit
	burst   int
	imports int // 0: no cap
	now     func() time.Time

	mu      sync.Mutex
	tenants map[string]*tenantState
}

type tenantState struct {
	bucket  *rate.Limiter
	imports int
}

func newTenantLimits(perSecond float64, burst, imports int) *tenantLimits {
	return &tenantLimits{rate: rate.Limit(perSecond), burst: max(burst, 1), imports: imports, now: time.Now,
		tenants: map[string]*tenantState{}}
}

func (l *tenantLimits) state(clientID string) *tenantState {
	st := l.tenants[clientID]
	if st == nil {
		st = &tenantState{bucket: rate.NewLimiter(l.rate, l.burst)}
		l.tenants[clientID] = st
	}
	return st
}

// policy is the RateLimit-Policy of the bucket (draft-ietf-httpapi-ratelimit-headers):
// its burst as the quota, over the seconds the bucket takes to refill.
func (l *tenantLimits) policy() string {
	return fmt.Sprintf(`"tenant";q=%d;w=%d`, l.burst, ceilSeconds(float64(l.burst)/float64(l.rate)))
}

// limitTenant applies the tenant's limits to its authenticated requests.
func (s *server) limitTenant(ops map[string]routeOp, l *tenantLimits) gin.HandlerFunc {
	return func(c *gin.Context) {
		op := ops[routeKey(c)]
		clientID := httpx.InfoFrom(c.Request.Context()).ClientID
		if !op.secured || clientID == "" {
			return
		}
		now := l.now()
		l.mu.Lock()
		st := l.state(clientID)
		allowed, wait := true, 0.0
		if l.rate > 0 && !st.bucket.AllowN(now, 1) {
			allowed, wait = false, (1-st.bucket.TokensAt(now))/float64(l.rate)
		}
		importing := op.id == importOperation && l.imports > 0
		full := importing && allowed && st.imports >= l.imports
		if importing && allowed && !full {
			st.imports++
		}
		l.mu.Unlock()

		switch {
		case !allowed:
			retry := ceilSeconds(wait)
			c.Header("RateLimit-Policy", l.policy())
			c.Header("RateLimit", fmt.Sprintf(`"tenant";r=0;t=%d`, retry))
			s.problem(c, &apperr.Error{Code: apperr.RateLimited, RetryAfter: time.Duration(retry) * time.Second,
				Detail: fmt.Sprintf("This tenant sends more than %g requests per second (bursts of %d) to this server. Retry after Retry-After.", float64(l.rate), l.burst)})
			return
		case full:
			s.problem(c, &apperr.Error{Code: apperr.RateLimited, RetryAfter: time.Second,
				Detail: fmt.Sprintf("This tenant already has %d imports running on this server. Retry after Retry-After.", l.imports)})
			return
		case importing:
			defer func() {
				l.mu.Lock()
				st.imports--
				l.mu.Unlock()
			}()
		}
		c.Next()
	}
}

func ceilSeconds(s float64) int { return max(1, int(math.Ceil(s))) }
