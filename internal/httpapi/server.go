// Package httpapi assembles the HTTP server: the gin router, the middleware
// in front of the generated strict handlers (request ids, logging, recovery,
// authentication, body limits, validation against openapi.yaml) and the
// single place where errors become problem responses.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/zestequity/zest-api/generated"
	"github.com/zestequity/zest-api/impl"
	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/files"
	"github.com/zestequity/zest-api/internal/httpx"
	"github.com/zestequity/zest-api/internal/idempotency"
	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/spec"
	"github.com/zestequity/zest-api/internal/sqlcount"
	"github.com/zestequity/zest-api/internal/subscriptions"
	"github.com/zestequity/zest-api/internal/tenants"
	"github.com/zestequity/zest-api/internal/webhooks"
)

// Deps are what the HTTP server is built from.
type Deps struct {
	Investors    *investors.Service
	Subs         *subscriptions.Service
	Tenants      *tenants.Service
	Idempotency  *idempotency.Service
	Webhooks     *webhooks.Service
	Ready        func(context.Context) error // database reachability, for /readyz
	Logger       *slog.Logger
	MaxBatchRows int
	MaxBodyBytes int64
	// PublicURL, when set, is the server the published contract names
	// (config.Config.PublicURL).
	PublicURL string
	// TokenAudience, when set, is the aud that token assertions must name
	// (config.Config.TokenAudience).
	TokenAudience string
	// MaxInflightBodyBytes caps the request bodies held by this process at
	// once; 0 leaves them uncapped.
	MaxInflightBodyBytes int64
	// RateLimit is each tenant's sustained requests per second, RateBurst
	// its bucket; a RateLimit of 0 disables the limit.
	RateLimit float64
	RateBurst int
	// MaxConcurrentImports caps each tenant's imports running at once; 0
	// leaves them uncapped.
	MaxConcurrentImports int
	// Files, when it is a local directory, has its signed URLs answered
	// at files.ServePath.
	Files *files.Store
	// Observer, when set, is told of every finished request.
	Observer Observer
}

// Observer receives what the request log writes, as numbers (the metrics).
type Observer interface {
	ObserveRequest(httpx.Finished)
}

type server struct {
	log       *slog.Logger
	observer  Observer
	ops       map[string]routeOp
	publicURL string
	tenants   *tenants.Service
}

func init() { gin.SetMode(gin.ReleaseMode) }

// NewServer returns the HTTP handler of the API. main and the tests build it
// the same way.
//
// Every answer of the handler is a problem, down to unknown paths and
// methods and unreadable or oversized bodies. Some malformed requests never
// reach it: net/http answers them itself, in plain text, and no handler can
// intercept that — a request line or header it cannot parse (400), headers
// beyond http.Server's MaxHeaderBytes (431), an unknown Transfer-Encoding
// (501) or Expect (417).
func NewServer(d Deps) (http.Handler, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &server{log: d.Logger, observer: d.Observer, publicURL: d.PublicURL, tenants: d.Tenants}

	doc, err := envelopeSpec(d.MaxBatchRows)
	if err != nil {
		return nil, err
	}
	validate, err := s.validator(doc)
	if err != nil {
		return nil, err
	}

	r := gin.New()
	r.ContextWithFallback = true // handlers read httpx.Info from the request context
	r.HandleMethodNotAllowed = true
	// A redirect to the path without its trailing slash would be answered
	// before the middleware, without a Request-Id; a 404 problem has one.
	r.RedirectTrailingSlash = false
	r.Use(s.requestLog, s.recoverPanic)
	if d.Files != nil && d.Files.Local() {
		r.GET(files.ServePath, s.serveFile(d.Files))
	}
	r.NoRoute(func(c *gin.Context) { s.problem(c, apperr.New(apperr.NotFound, "No such path.")) })
	r.NoMethod(func(c *gin.Context) {
		s.problem(c, apperr.New(apperr.MethodNotAllowed, "%s is not supported on this path.", c.Request.Method))
	})

	published, err := spec.NewPublished()
	if err != nil {
		return nil, err
	}
	strict := generated.NewStrictHandlerWithOptions(impl.New(d.Investors, d.Subs, d.Webhooks, d.Tenants, d.Ready, published, d.TokenAudience), nil, generated.StrictGinServerOptions{
		RequestErrorHandlerFunc: func(c *gin.Context, err error) {
			s.problem(c, apperr.Wrap(err, apperr.InvalidRequest, "The request body does not match the API schema."))
		},
		HandlerErrorFunc:         s.problem,
		ResponseErrorHandlerFunc: s.problem,
	})
	ops, err := routeOps(doc)
	if err != nil {
		return nil, err
	}
	s.ops = ops
	limits := newTenantLimits(d.RateLimit, d.RateBurst, d.MaxConcurrentImports)
	bodies := &bodyBudget{max: d.MaxInflightBodyBytes}
	// Gin runs these before the generated wrappers bind parameters, so that
	// authentication comes first and validation second. An Idempotency-Key
	// is settled (replayed or refused) before validation, and claimed only
	// after it: requests that authentication or validation refuse never
	// claim a key.
	idem := idempotency.NewMiddleware(d.Idempotency, s.problem)
	// The tenant's limits come before any body is read: a refused or
	// unauthenticated client costs no more than its headers.
	api := r.Group("", s.authenticate(ops), s.limitTenant(ops, limits), s.textParams,
		s.readBody(ops, d.MaxBodyBytes, bodies), idem.Settle, validate, idem.Apply)
	generated.RegisterHandlersWithOptions(api, strict, generated.GinServerOptions{
		ErrorHandler: func(c *gin.Context, err error, status int) {
			// Parameter binding failures; the validator catches them first.
			s.problem(c, apperr.Wrap(err, apperr.InvalidRequest, "A parameter is invalid."))
		},
	})
	return r, nil
}

func (s *server) problem(c *gin.Context, err error) { writeProblem(c, s.log, err) }

// statusClientClosedRequest is what the request log records for a request
// whose client hung up before the answer; no client ever receives it.
const statusClientClosedRequest = 499

// requestLog gives each request its id and writes one line when it ends:
// never a name, an email or a date of birth.
func (s *server) requestLog(c *gin.Context) {
	start := time.Now()
	info := &httpx.Info{RequestID: ids.New("req_"), ServerURL: s.serverURL(c.Request)}
	ctx, statements := sqlcount.Start(httpx.WithInfo(c.Request.Context(), info))
	c.Request = c.Request.WithContext(ctx)
	c.Writer = &requestIDWriter{ResponseWriter: c.Writer, id: info.RequestID}

	c.Next()

	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	latency := time.Since(start)
	level := slog.LevelInfo
	var closed []any
	switch {
	case c.Request.Context().Err() != nil:
		// The client closed the connection before the answer: its doing
		// (nginx's 499), not a server failure, whatever the handler made of
		// the cancellation.
		level = slog.LevelWarn
		closed = []any{"client_closed", true, "handler_status", status}
		status = statusClientClosedRequest
	case status >= 500:
		level = slog.LevelError
	}
	attrs := []any{
		"request_id", info.RequestID,
		"method", c.Request.Method,
		"route", route,
		"status", status,
		"latency_ms", float64(latency.Microseconds()) / 1000,
		"client_id", info.ClientID,
		"sql_statements", statements.Count(),
		"sql_ms", float64(statements.Elapsed().Microseconds()) / 1000,
	}
	if info.Rows != nil {
		attrs = append(attrs, "rows_created", info.Rows[string(investors.Created)],
			"rows_already_exists", info.Rows[string(investors.AlreadyExists)],
			"rows_failed", info.Rows[string(investors.Failed)])
	}
	if info.Replayed {
		attrs = append(attrs, "idempotent_replayed", true)
	}
	if info.ErrorID != "" {
		attrs = append(attrs, "error_id", info.ErrorID, "error_code", info.ErrorCode)
	}
	attrs = append(attrs, closed...)
	s.log.Log(c, level, "request", attrs...)
	if s.observer != nil {
		op := "unmatched"
		if o, ok := s.ops[routeKey(c)]; ok {
			op = o.id
		}
		s.observer.ObserveRequest(httpx.Finished{Operation: op, Status: status, Latency: latency,
			Statements: int(statements.Count()), SQLTime: statements.Elapsed(), Rows: info.Rows, Replayed: info.Replayed})
	}
}

// serverURL is the address the published contract names: the configured
// public URL or, without one, the Host the client asked for on the
// connection it used. X-Forwarded-* headers are not read: any client can
// send them, and a shared cache would keep the copy they shaped for
// everyone (a deployment behind a proxy sets ZEST_PUBLIC_URL).
func (s *server) serverURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *server) recoverPanic(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			err := errors.New("panic")
			if e, ok := v.(error); ok {
				err = errors.Join(err, e)
			}
			s.log.ErrorContext(c, "panic serving request", "request_id", httpx.InfoFrom(c.Request.Context()).RequestID,
				"panic", v, "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				s.problem(c, err)
			}
		}
	}()
	c.Next()
}

// authenticate resolves the bearer token of every route whose operation
// requires one in openapi.yaml, before anything else reads the request, so
// that an unauthenticated client learns nothing from validation.
func (s *server) authenticate(ops map[string]routeOp) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !ops[routeKey(c)].secured {
			return
		}
		tenant, err := s.tenants.Authenticate(c.Request.Context(), c.GetHeader("Authorization"))
		if err != nil {
			s.problem(c, err)
			return
		}
		info := httpx.InfoFrom(c.Request.Context())
		info.ClientID, info.KeyID, info.TokenExpiresAt = tenant.ClientID, tenant.KeyID, tenant.ExpiresAt
	}
}

// routeOp is what the middleware needs to know of a route's operation.
type routeOp struct {
	id      string // operationId
	secured bool   // has security requirements
	body    bool   // declares a request body
	// streamed: the body goes to the handler as it arrives (uploads).
	streamed bool
}

// routeOps describes every operation of the spec by its route, as
// "METHOD /gin/:path".
func routeOps(doc *openapi3.T) (map[string]routeOp, error) {
	out := map[string]routeOp{}
	secured := 0
	for path, item := range doc.Paths.Map() {
		ginPath := pathParam.ReplaceAllString(path, ":$1")
		for method, op := range item.Operations() {
			sec := op.Security
			if sec == nil {
				sec = &doc.Security
			}
			ro := routeOp{id: op.OperationID, secured: len(*sec) > 0, body: op.RequestBody != nil}
			if secured, ok := op.Extensions[streamedExtension].(bool); ok {
				ro.secured, ro.body, ro.streamed = secured, true, true
			}
			if ro.secured {
				secured++
			}
			out[method+" "+ginPath] = ro
		}
	}
	if secured == 0 {
		return nil, errors.New("openapi.yaml declares no secured operation; refusing to serve an open API")
	}
	return out, nil
}

func routeKey(c *gin.Context) string { return c.Request.Method + " " + c.FullPath() }

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// textParams refuses path and query parameters that are not text: a NUL or
// bytes that are not UTF-8. Neither database can compare such a value with
// a stored one (PostgreSQL refuses it outright), and the schema's string
// type does not exclude them. No id can hold them, so a path parameter is
// a 404; a query parameter is the client's mistake.
func (s *server) textParams(c *gin.Context) {
	for _, p := range c.Params {
		if !isText(p.Value) {
			s.problem(c, apperr.New(apperr.NotFound, "No such %s.", p.Key))
			return
		}
	}
	query := c.Request.URL.Query()
	for _, name := range slices.Sorted(maps.Keys(query)) {
		if !isText(name) {
			s.problem(c, apperr.New(apperr.InvalidRequest, "A query parameter name is not UTF-8 text without NUL characters."))
			return
		}
		for _, v := range query[name] {
			if !isText(v) {
				s.problem(c, apperr.New(apperr.InvalidRequest, "query parameter %s must be UTF-8 text without NUL characters.", clip(name)))
				return
			}
		}
	}
}

func isText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// requestIDWriter stamps every response with its Request-Id as the headers
// go out. The contract declares the header on every response, so generated
// responses write it too, from a field the handlers leave empty: stamping
// last lets the middleware alone own it.
type requestIDWriter struct {
	gin.ResponseWriter
	id string
}

func (w *requestIDWriter) stamp() {
	if !w.Written() {
		w.Header().Set("Request-Id", w.id)
	}
}

// WriteHeader stamps too: gin sends the headers of a bodiless response
// itself, past this writer.
func (w *requestIDWriter) WriteHeader(code int) {
	w.stamp()
	w.ResponseWriter.WriteHeader(code)
}

func (w *requestIDWriter) WriteHeaderNow() {
	w.stamp()
	w.ResponseWriter.WriteHeaderNow()
}

func (w *requestIDWriter) Write(b []byte) (int, error) {
	w.stamp()
	return w.ResponseWriter.Write(b)
}

func (w *requestIDWriter) WriteString(s string) (int, error) {
	w.stamp()
	return w.ResponseWriter.WriteString(s)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *requestIDWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *requestIDWriter) Flush() {
	w.stamp()
	w.ResponseWriter.Flush()
}
