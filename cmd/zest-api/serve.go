package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zestequity/zest-api/internal/config"
	"github.com/zestequity/zest-api/internal/files"
	"github.com/zestequity/zest-api/internal/httpapi"
	"github.com/zestequity/zest-api/internal/httpx"
	"github.com/zestequity/zest-api/internal/idempotency"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/metrics"
	"github.com/zestequity/zest-api/internal/netguard"
	"github.com/zestequity/zest-api/internal/spec"
	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/store/postgres"
	"github.com/zestequity/zest-api/internal/subscriptions"
	"github.com/zestequity/zest-api/internal/tenants"
	"github.com/zestequity/zest-api/internal/webhooks"
)

// shutdownGrace bounds how long in-flight requests may run after SIGTERM.
const shutdownGrace = 60 * time.Second

// Intervals of the background jobs.
const (
	sweepEvery = time.Minute // expired idempotency keys are deleted
	statsEvery = time.Minute // the dispatcher's counters are logged
	// Files without a document are deleted: every pass lists the whole
	// bucket, in every process, and orphans are rare and only cost space.
	fileSweepEvery = 30 * time.Minute
)

var serveCommand = &command{
	name:    "serve",
	summary: "serve the API (the default command)",
	about: `Runs the database migrations first unless ZEST_AUTO_MIGRATE=false, and the
webhook dispatcher unless ZEST_DISPATCHER=false. On SIGTERM or Ctrl-C it
stops accepting connections, lets the requests in flight finish, and exits 0.
The environment variables that configure it are listed by ` + "`zest-api help`" + `.`,
	setup: func(fs *flag.FlagSet) runner {
		demo := fs.Bool("demo", false, "on the embedded database, create a demo tenant when there is none and print its token and a request to try")
		return func(ctx context.Context, _ []string, out streams) error {
			return serve(ctx, *demo, out.stdout, out.stderr)
		}
	},
}

func serve(ctx context.Context, demo bool, stdout, stderr io.Writer) error {
	cfg, log, st, err := start(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()

	inv, err := newInvestors(cfg, st, log)
	if err != nil {
		return err
	}
	// Tenants' JWKS are fetched under the policy of webhook deliveries.
	ten := tenants.New(st, nil).WithJWKS(netguard.Policy{AllowPrivate: cfg.WebhookAllowPrivate})
	obs, err := startMetrics(cfg, st, log)
	if err != nil {
		return err
	}
	ten.SetAccessTokenTTL(cfg.AccessTokenTTL)
	idem := idempotency.New(st, idempotency.Options{
		TTL: cfg.IdempotencyTTL, LockTimeout: cfg.IdempotencyLockTimeout, Logger: log,
	})
	fileStore, subs, err := newSubscriptions(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	defer fileStore.Close()
	handler, err := httpapi.NewServer(httpapi.Deps{
		Files:        fileStore,
		Investors:    inv,
		Subs:         subs,
		Tenants:      ten,
		Idempotency:  idem,
		Webhooks:     webhooks.New(st, netguard.Policy{AllowPrivate: cfg.WebhookAllowPrivate}, nil),
		Ready:        st.Ping,
		Logger:       log,
		MaxBatchRows: cfg.MaxBatchRows,
		MaxBodyBytes: cfg.MaxBodyBytes,
		PublicURL:    cfg.PublicURL,

		TokenAudience:        cfg.TokenAudience,
		MaxInflightBodyBytes: cfg.MaxInflightBodyBytes,
		RateLimit:            cfg.RateLimit,
		RateBurst:            cfg.RateBurst,
		MaxConcurrentImports: cfg.MaxConcurrentImports,
		Observer:             obs,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on ZEST_ADDR %s: %w", cfg.Addr, err)
	}
	if demo {
		if err := seedDemo(ctx, cfg, st, ten, ln.Addr().String(), stdout); err != nil {
			ln.Close()
			return err
		}
	}

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if cfg.DebugAddr != "" {
		if err := serveDebug(cfg.DebugAddr, log); err != nil {
			return err
		}
	}

	// Background work stops after the HTTP server has drained, so that the
	// events of the last requests are still dispatched by this process.
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var jobs sync.WaitGroup
	defer func() { stopBackground(); jobs.Wait() }()
	jobs.Go(func() { idem.RunSweeper(background, sweepEvery) })
	jobs.Go(func() { ten.RunSweeper(background, sweepEvery, log) })
	jobs.Go(func() { inv.RunCompleter(background, completeEvery(cfg)) })
	jobs.Go(func() { subs.RunFileSweeper(background, fileSweepEvery) })
	if cfg.Dispatcher {
		d := dispatcher(cfg, st, log)
		jobs.Go(func() { d.Run(background) })
		jobs.Go(func() { d.RunStats(background, statsEvery) })
	}
	log.Info("serving", "addr", ln.Addr().String(), "database", st.Name(), "dispatcher", cfg.Dispatcher)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	stopBackground()
	jobs.Wait()
	log.Info("stopped")
	return nil
}

// serveDebug exposes Go's profiler on its own loopback listener, for
// operators diagnosing a live process; it lives as long as the process.
func serveDebug(addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on ZEST_DEBUG_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	log.Info("serving the profiler", "addr", ln.Addr().String())
	return nil
}

// scrapeTimeout bounds the database reads of one scrape, so that a slow
// database delays the scraper by no more than this.
const scrapeTimeout = 2 * time.Second

// startMetrics serves /metrics on ZEST_METRICS_ADDR, on a listener of its own
// that lives as long as the process, and returns what the API reports
// requests to; nil when the variable is unset.
func startMetrics(cfg config.Config, st store.DB, log *slog.Logger) (httpapi.Observer, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	m := metrics.New(log)
	m.WatchOutbox(st, time.Now, scrapeTimeout)
	if p, ok := st.(interface{ PoolStat() *pgxpool.Stat }); ok {
		m.WatchPool(func() metrics.PoolStats {
			s := p.PoolStat()
			return metrics.PoolStats{
				Acquired: s.AcquiredConns(), Idle: s.IdleConns(), Total: s.TotalConns(), Max: s.MaxConns(),
				Acquires: s.AcquireCount(), AcquireWait: s.AcquireDuration(), EmptyAcquires: s.EmptyAcquireCount(),
			}
		})
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on ZEST_METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	go (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	log.Info("serving metrics", "addr", ln.Addr().String())
	return m, nil
}

// The worker is for deployments that separate the background work from the
// API servers.
var workerCommand = &command{
	name:    "worker",
	summary: "run the webhook dispatcher, the pair completer and the file sweep alone; run any number of them",
	about: "It delivers the events that serve records, completes the investors a crash left half-written, and\n" +
		"deletes the uploaded files a crash left without their document, until SIGTERM or Ctrl-C.",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, _ []string, out streams) error { return worker(ctx, out.stderr) }
	},
}

func worker(ctx context.Context, stderr io.Writer) error {
	cfg, log, st, err := start(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	inv, err := newInvestors(cfg, st, log)
	if err != nil {
		return err
	}
	if _, err := startMetrics(cfg, st, log); err != nil {
		return err
	}
	fileStore, subs, err := newSubscriptions(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	defer fileStore.Close()
	d := dispatcher(cfg, st, log)
	side, stopSide := context.WithCancel(ctx)
	var jobs sync.WaitGroup
	defer func() { stopSide(); jobs.Wait() }()
	jobs.Go(func() { d.RunStats(side, statsEvery) })
	jobs.Go(func() { inv.RunCompleter(side, completeEvery(cfg)) })
	jobs.Go(func() { subs.RunFileSweeper(side, fileSweepEvery) })
	log.Info("dispatching webhooks", "database", st.Name())
	d.Run(ctx) // returns once ctx ends and the attempts in flight are recorded
	log.Info("stopped")
	return nil
}

// start reads the configuration, sets up logging and opens (and, unless
// told not to, migrates) the database.
func start(ctx context.Context, stderr io.Writer) (config.Config, *slog.Logger, store.DB, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{Timeouts: dbTimeouts(cfg)})
	if err != nil {
		return cfg, nil, nil, err
	}
	if cfg.AutoMigrate {
		applied, err := st.Migrate(ctx)
		if err != nil {
			st.Close()
			return cfg, nil, nil, err
		}
		for _, m := range applied {
			log.Info("applied migration", "version", m.Version, "name", m.Name)
		}
	}
	return cfg, log, st, nil
}

// newInvestors returns the investors service of the composition roots.
func newInvestors(cfg config.Config, st store.DB, log *slog.Logger) (*investors.Service, error) {
	doc, err := spec.Load()
	if err != nil {
		return nil, err
	}
	return investors.New(st, doc, investors.Options{Logger: log, CompleteAfter: cfg.CompleteAfter})
}

// newSubscriptions returns the subscriptions service of the composition
// roots, on the bucket of uploaded files, which the caller closes.
func newSubscriptions(ctx context.Context, cfg config.Config, st store.DB, log *slog.Logger) (*files.Store, *subscriptions.Service, error) {
	fileStore, err := files.Open(ctx, cfg.BlobURL, []byte(cfg.FileURLSecret), cfg.FileURLTTL, nil)
	if err != nil {
		return nil, nil, err
	}
	return fileStore, subscriptions.New(st, nil, log).WithFiles(fileStore, subscriptions.FileOptions{Origin: httpx.Origin}), nil
}

// completeEvery is how often the completer looks for incomplete pairs: as
// often as they may become due, within bounds.
func completeEvery(cfg config.Config) time.Duration {
	return min(max(cfg.CompleteAfter, time.Second), time.Minute)
}

func dbTimeouts(cfg config.Config) postgres.Timeouts {
	return postgres.Timeouts{Connect: cfg.DBConnectTimeout, Acquire: cfg.DBAcquireTimeout, Statement: cfg.DBStatementTimeout}
}

func dispatcher(cfg config.Config, st store.DB, log *slog.Logger) *webhooks.Dispatcher {
	return webhooks.NewDispatcher(st, webhooks.DispatcherOptions{
		Schedule:    cfg.WebhookSchedule,
		Timeout:     cfg.WebhookTimeout,
		Concurrency: cfg.WebhookConcurrency,
		Policy:      netguard.Policy{AllowPrivate: cfg.WebhookAllowPrivate},
		Logger:      log,
	})
}

// seedDemo gives a newcomer a tenant to try the API with: only on the
// embedded database, only when it has no tenant, and so only once. Every
// run says where the reference is and how to get a token, since the first
// run's token is shown once and easily lost.
func seedDemo(ctx context.Context, cfg config.Config, st store.DB, ten *tenants.Service, addr string, stdout io.Writer) error {
	base := "http://" + addr
	if !cfg.Embedded() {
		fmt.Fprintf(stdout, "--demo creates tenants only on the embedded database; use `zest-api tenants create` on PostgreSQL.\nAPI reference: %s/docs\n", base)
		return nil
	}
	// The command runs on the same database file, whatever DATABASE_URL
	// the operator's shell holds.
	newToken := fmt.Sprintf("DATABASE_URL=%s %s tokens create", cfg.DatabaseURL, os.Args[0])
	n, err := st.CountTenants(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		_, err := ten.ListTokens(ctx, "demo")
		switch {
		case errors.Is(err, tenants.ErrTenantNotFound):
			fmt.Fprintf(stdout, "\n--demo creates the demo tenant only on a database without tenants. For a token of one of yours, run (in this directory):\n\n  %s CLIENT_ID\n", newToken)
		case err != nil:
			return err
		default:
			fmt.Fprintf(stdout, "\nThe demo tenant exists; its token was shown on the first run. For a new one, run (in this directory):\n\n  %s demo\n", newToken)
		}
		fmt.Fprintf(stdout, "\nAPI reference: %s/docs\n\n", base)
		return nil
	}
	token, err := ten.Create(ctx, "demo", "Demo partner", true)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
Created the demo tenant. Its API token is shown this once (for another, run %s demo):

  %s

Try it:

curl -s %s/v1/investors \
  -H 'Authorization: Bearer %s' \
  -H 'Content-Type: application/json' \
  -d '{"investors":[{"partnerInvestorId":"acme-inv-7341","email":"alice@example.com","firstName":"Alice","lastName":"Liddell","dateOfBirth":"1985-04-12","countryOfResidence":"AE"},{"partnerInvestorId":"acme-inv-7342","email":"bob@example.com","firstName":"Bob","lastName":"Marley","dateOfBirth":"1980-02-06","countryOfResidence":"JM"}]}'

API reference: %s/docs

`, newToken, token, base, token, base)
	return nil
}
