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
	"sync"
	"time"

	"github.com/zestequity/zest-api/internal/config"
	"github.com/zestequity/zest-api/internal/httpapi"
	"github.com/zestequity/zest-api/internal/idempotency"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/netguard"
	"github.com/zestequity/zest-api/internal/spec"
	"github.com/zestequity/zest-api/internal/store"
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
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "on the embedded database, create a demo tenant when there is none and print its token")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	cfg, log, st, err := start(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()

	doc, err := spec.Load()
	if err != nil {
		return err
	}
	inv, err := investors.New(st, doc, investors.Options{Logger: log})
	if err != nil {
		return err
	}
	ten := tenants.New(st, nil)
	idem := idempotency.New(st, idempotency.Options{
		TTL: cfg.IdempotencyTTL, LockTimeout: cfg.IdempotencyLockTimeout, Logger: log,
	})
	handler, err := httpapi.NewServer(httpapi.Deps{
		Investors:    inv,
		Subs:         subscriptions.New(st, nil, log),
		Tenants:      ten,
		Idempotency:  idem,
		Webhooks:     webhooks.New(st, netguard.Policy{AllowPrivate: cfg.WebhookAllowPrivate}, nil),
		Ready:        st.Ping,
		Logger:       log,
		MaxBatchRows: cfg.MaxBatchRows,
		MaxBodyBytes: cfg.MaxBodyBytes,
		PublicURL:    cfg.PublicURL,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on ZEST_ADDR %s: %w", cfg.Addr, err)
	}
	if *demo {
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

// worker runs the webhook dispatcher alone, for deployments that separate it
// from the API servers.
func worker(ctx context.Context, args []string, stderr io.Writer) error {
	if _, err := parseArgs(flag.NewFlagSet("worker", flag.ContinueOnError), args, 0); err != nil {
		return err
	}
	cfg, log, st, err := start(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	d := dispatcher(cfg, st, log)
	stats, stopStats := context.WithCancel(ctx)
	defer stopStats()
	go d.RunStats(stats, statsEvery)
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
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
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
// embedded database, only when it has no tenant, and so only once.
func seedDemo(ctx context.Context, cfg config.Config, st store.DB, ten *tenants.Service, addr string, stdout io.Writer) error {
	if !cfg.Embedded() {
		fmt.Fprintln(stdout, "--demo creates tenants only on the embedded database; use `zest-api tenants create` on PostgreSQL.")
		return nil
	}
	n, err := st.CountTenants(ctx)
	if err != nil || n > 0 {
		return err
	}
	token, err := ten.Create(ctx, "demo", "Demo partner", true)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
Created the demo tenant. Its API token is shown this once:

  %s

Try it:

curl -s http://%s/v1/investors \
  -H 'Authorization: Bearer %s' \
  -H 'Content-Type: application/json' \
  -d '{"investors":[{"partnerInvestorId":"acme-inv-7341","email":"alice@example.com","firstName":"Alice","lastName":"Liddell","dateOfBirth":"1985-04-12","countryOfResidence":"AE"},{"partnerInvestorId":"acme-inv-7342","email":"bob@example.com","firstName":"Bob","lastName":"Marley","dateOfBirth":"1980-02-06","countryOfResidence":"JM"}]}'

`, token, addr, token)
	return nil
}
