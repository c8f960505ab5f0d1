// Package store opens the database that a URL names, with the driver for it:
// internal/store/postgres for postgres:// URLs in production, and
// internal/store/sqlite for an embedded file in zero-setup development. The
// services declare the storage they need as interfaces of their own (the
// ports); each driver implements all of them, and this package is what the
// composition roots (the commands and testkit) call.
package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/zestequity/zest-api/internal/idempotency"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/store/gormstore"
	"github.com/zestequity/zest-api/internal/store/postgres"
	"github.com/zestequity/zest-api/internal/store/sqlite"
	"github.com/zestequity/zest-api/internal/subscriptions"
	"github.com/zestequity/zest-api/internal/tenants"
	"github.com/zestequity/zest-api/internal/webhooks"
)

// DB is an open database: every service's port, and its upkeep.
type DB interface {
	investors.Store
	subscriptions.Store
	tenants.Store
	idempotency.Store
	webhooks.Store
	// PendingDeliveries counts the pending webhook deliveries by the state
	// of their endpoint, for the metrics.
	PendingDeliveries(ctx context.Context, now time.Time) (map[string]int64, error)
	// CountTenants returns how many tenants exist.
	CountTenants(ctx context.Context) (int64, error)
	// Migrate applies the migrations that the database has not seen yet, each
	// in its own transaction. It is idempotent, and safe to run from several
	// processes at once.
	Migrate(ctx context.Context) ([]gormstore.Migration, error)
	Ping(ctx context.Context) error
	Close() error
	// Name names the database, for the logs.
	Name() string
}

var (
	_ DB = (*postgres.Store)(nil)
	_ DB = (*sqlite.Store)(nil)
)

// Options tune a DB.
type Options struct {
	// MaxConns caps the PostgreSQL pool (default 16).
	MaxConns int32
	// Timeouts bound the waits on PostgreSQL (see postgres.Timeouts).
	Timeouts postgres.Timeouts
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
}

// Open connects to url: postgres://… (or postgresql://…) or sqlite:PATH.
func Open(ctx context.Context, url string, opts Options) (DB, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		st, err := postgres.Open(ctx, url, postgres.Options{MaxConns: opts.MaxConns, Timeouts: opts.Timeouts, Now: opts.Now})
		if err != nil {
			return nil, err
		}
		return st, nil
	case strings.HasPrefix(url, "sqlite:"):
		st, err := sqlite.Open(strings.TrimPrefix(url, "sqlite:"), sqlite.Options{Now: opts.Now})
		if err != nil {
			return nil, err
		}
		return st, nil
	default:
		return nil, errors.New("database URL must start with postgres://, postgresql:// or sqlite")
	}
}
