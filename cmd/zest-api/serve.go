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
	"time"

	zestapi "github.com/zestequity/zest-api"
	"github.com/zestequity/zest-api/config"
	"github.com/zestequity/zest-api/httpapi"
	"github.com/zestequity/zest-api/idempotency"
	"github.com/zestequity/zest-api/investors"
	"github.com/zestequity/zest-api/store"
	"github.com/zestequity/zest-api/tenants"
)

// shutdownGrace bounds how long in-flight requests may run after SIGTERM.
const shutdownGrace = 60 * time.Second

// sweepEvery is how often expired idempotency keys are deleted.
const sweepEvery = time.Minute

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "on the embedded database, create a demo tenant when there is none and print its token")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.AutoMigrate {
		applied, err := st.Migrate(ctx)
		if err != nil {
			return err
		}
		for _, m := range applied {
			log.Info("applied migration", "version", m.Version, "name", m.Name)
		}
	}

	doc, err := zestapi.LoadSpec()
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
		Tenants:      ten,
		Idempotency:  idem,
		Ready:        st.Ping,
		Logger:       log,
		MaxBatchRows: cfg.MaxBatchRows,
		MaxBodyBytes: cfg.MaxBodyBytes,
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
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	go idem.RunSweeper(background, sweepEvery)
	log.Info("serving", "addr", ln.Addr().String(), "database", string(st.Dialect()))

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
	log.Info("stopped")
	return nil
}

// seedDemo gives a newcomer a tenant to try the API with: only on the
// embedded database, only when it has no tenant, and so only once.
func seedDemo(ctx context.Context, cfg config.Config, st *store.Store, ten *tenants.Service, addr string, stdout io.Writer) error {
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
