package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/config"
	"github.com/zestequity/zest-api/internal/files"
	"github.com/zestequity/zest-api/internal/httpapi"
	"github.com/zestequity/zest-api/internal/httpx"
	"github.com/zestequity/zest-api/internal/idempotency"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/netguard"
	"github.com/zestequity/zest-api/internal/spec"
	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/subscriptions"
	"github.com/zestequity/zest-api/internal/tenants"
	"github.com/zestequity/zest-api/internal/webhooks"
)

// Options adjust a test API server.
type Options struct {
	MaxBatchRows int   // default config.SpecMaxBatchRows
	MaxBodyBytes int64 // default 4 MiB
	Now          func() time.Time
	// WrapStore lets a test stand between the service and the database, to
	// inject faults.
	WrapStore func(investors.Store) investors.Store
	// WrapSubscriptions does the same for the subscriptions service.
	WrapSubscriptions func(subscriptions.Store) subscriptions.Store
	// BlobURL is ZEST_BLOB_URL (default: a fresh local directory); S3
	// returns one of an S3-compatible bucket.
	BlobURL string
	// FileGrace and FileSweepPage are the subscriptions' FileOptions
	// (default: production's).
	FileGrace     time.Duration
	FileSweepPage int
	// DB reuses a database instead of a fresh one.
	DB *DB
	// Idempotency-Key durations (default: the production defaults).
	IdempotencyTTL         time.Duration
	IdempotencyLockTimeout time.Duration
	// StrictWebhookURLs applies the production URL policy; by default tests
	// may register local receivers.
	StrictWebhookURLs bool
	// PublicURL is ZEST_PUBLIC_URL.
	PublicURL string
	// CompleteAfter is ZEST_COMPLETE_AFTER (default: none, so that a test's
	// step of the completer completes every incomplete pair).
	CompleteAfter time.Duration
	// Per-tenant limits; zero values are generous enough never to bind a
	// test that does not mean them to. A negative value disables one.
	RateLimit            float64
	RateBurst            int
	MaxConcurrentImports int
	// MaxInflightBodyBytes is ZEST_MAX_INFLIGHT_BODY_BYTES; 0 leaves bodies
	// uncapped.
	MaxInflightBodyBytes int64
	// Observer is told of every finished request (the metrics).
	Observer httpapi.Observer
}

// API is a running server on a fresh database.
type API struct {
	URL string
	// Handler is the server's handler, for requests a test must control
	// beyond what a client can (its context, say).
	Handler     http.Handler
	DB          *DB
	Investors   *investors.Service
	Subs        *subscriptions.Service
	Files       *files.Store
	Store       store.DB
	Tenants     *tenants.Service
	Idempotency *idempotency.Service
	Webhooks    *webhooks.Service
	Logs        *SyncBuffer
	HTTP        *http.Client // validates every response against openapi.yaml
	now         func() time.Time
}

// NewAPI starts the API over a fresh, migrated database of the dialect.
func NewAPI(t testing.TB, d Dialect, opts Options) *API {
	t.Helper()
	if opts.MaxBatchRows == 0 {
		opts.MaxBatchRows = config.SpecMaxBatchRows
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	if opts.RateLimit == 0 {
		opts.RateLimit, opts.RateBurst = 1e5, 1e5
	}
	if opts.MaxConcurrentImports == 0 {
		opts.MaxConcurrentImports = 1000
	}
	db := opts.DB
	if db == nil {
		db = NewDB(t, d, store.Options{Now: opts.Now, MaxConns: 24})
	}
	st := db.Store
	var svcStore investors.Store = st
	if opts.WrapStore != nil {
		svcStore = opts.WrapStore(st)
	}
	logs := &SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := investors.New(svcStore, doc, investors.Options{Now: opts.Now, Logger: log, CompleteAfter: opts.CompleteAfter})
	if err != nil {
		t.Fatal(err)
	}
	ten := tenants.New(st, opts.Now).WithJWKS(netguard.Policy{AllowPrivate: !opts.StrictWebhookURLs})
	idem := idempotency.New(st, idempotency.Options{
		TTL: opts.IdempotencyTTL, LockTimeout: opts.IdempotencyLockTimeout, Now: opts.Now, Logger: log,
	})
	hooks := webhooks.New(st, netguard.Policy{AllowPrivate: !opts.StrictWebhookURLs}, opts.Now)
	if opts.BlobURL == "" {
		opts.BlobURL = "file://" + filepath.ToSlash(t.TempDir())
	}
	// The bucket is opened as serve opens it, from the configuration.
	cfg, err := config.Parse(func(name string) (string, bool) {
		if name == "ZEST_BLOB_URL" {
			return opts.BlobURL, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	fileStore, err := files.Open(context.Background(), cfg.BlobURL, nil, cfg.FileURLTTL, opts.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fileStore.Close() })
	var subsStore subscriptions.Store = st
	if opts.WrapSubscriptions != nil {
		subsStore = opts.WrapSubscriptions(st)
	}
	subs := subscriptions.New(subsStore, opts.Now, log).WithFiles(fileStore, subscriptions.FileOptions{Grace: opts.FileGrace, SweepPage: opts.FileSweepPage, Origin: httpx.Origin})
	h, err := httpapi.NewServer(httpapi.Deps{
		Files: fileStore, Investors: inv, Subs: subs, Tenants: ten, Idempotency: idem, Webhooks: hooks, Ready: st.Ping, Logger: log,
		MaxBatchRows: opts.MaxBatchRows, MaxBodyBytes: opts.MaxBodyBytes, PublicURL: opts.PublicURL,
		RateLimit: max(opts.RateLimit, 0), RateBurst: opts.RateBurst, MaxConcurrentImports: max(opts.MaxConcurrentImports, 0),
		MaxInflightBodyBytes: opts.MaxInflightBodyBytes, Observer: opts.Observer,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &API{URL: srv.URL, Handler: h, Investors: inv, Subs: subs, Files: fileStore, DB: db, Store: st, Tenants: ten, Idempotency: idem, Webhooks: hooks, Logs: logs, HTTP: ValidatingClient(t), now: opts.Now}
}

// Dispatcher returns a webhook dispatcher on the API's database, on the
// API's clock unless opts says otherwise, that works only when the test
// steps it; local receivers are allowed.
func (a *API) Dispatcher(opts webhooks.DispatcherOptions) *webhooks.Dispatcher {
	opts.Policy.AllowPrivate = true
	if opts.Now == nil {
		opts.Now = a.now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(a.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return webhooks.NewDispatcher(a.Store, opts)
}

// StartDispatcher runs a webhook dispatcher on the API's database until the
// returned stop function is called (or the test ends), which waits for its
// attempts in flight to be recorded.
func (a *API) StartDispatcher(t testing.TB, opts webhooks.DispatcherOptions) (*webhooks.Dispatcher, func()) {
	t.Helper()
	d := a.Dispatcher(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	return d, stop
}

// Tenant creates an active tenant and returns its token.
func (a *API) Tenant(t testing.TB, clientID string) string {
	t.Helper()
	token, err := a.Tenants.Create(context.Background(), clientID, "", true)
	if err != nil {
		t.Fatalf("create tenant %s: %v", clientID, err)
	}
	return token
}

// Client returns a generated client that authenticates with token.
func (a *API) Client(t testing.TB, token string) *client.ClientWithResponses {
	t.Helper()
	c, err := client.NewClientWithResponses(a.URL, client.WithHTTPClient(a.HTTP),
		client.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// kin-openapi decodes no HTML, CSS or JavaScript bodies; openapi.yaml
// declares them as strings, which is how the validator should read them.
func init() {
	for _, mt := range []string{"text/html", "text/css", "text/javascript"} {
		openapi3filter.RegisterBodyDecoder(mt, openapi3filter.PlainBodyDecoder)
	}
}

// ValidatingClient returns an HTTP client that fails the test for any
// response that openapi.yaml does not allow: an undeclared status, a body
// that does not match its schema, a missing declared header.
func ValidatingClient(t testing.TB) *http.Client {
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &validatingTransport{t: t, router: router, problem: doc.Components.Schemas["Problem"].Value}}
}

type validatingTransport struct {
	t       testing.TB
	router  routers.Router
	problem *openapi3.Schema
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := v.check(req, resp, body); err != nil {
		v.t.Errorf("%s %s answered %d, which openapi.yaml does not allow: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

func (v *validatingTransport) check(req *http.Request, resp *http.Response, body []byte) error {
	if resp.Header.Get("Request-Id") == "" {
		return fmt.Errorf("no Request-Id header")
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		// Unknown paths and methods are answered with problems too.
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			return fmt.Errorf("unrouted request answered with Content-Type %q", ct)
		}
		var value any
		if err := json.Unmarshal(body, &value); err != nil {
			return err
		}
		return v.problem.VisitJSON(value, openapi3.VisitAsResponse())
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
}

// SyncBuffer is a goroutine-safe log sink.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
