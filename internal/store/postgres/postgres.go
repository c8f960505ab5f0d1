// Package postgres is the PostgreSQL driver of the store. GORM serves the
// plain CRUD it shares with the SQLite driver (gormstore); the hot paths (the
// set-based investor writes, authentication, idempotency replays, webhook
// claims) run on pgx directly, on the same connection pool, for arrays,
// unnest and one round trip per call.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	gormpostgres "gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/zestequity/zest-api/internal/retry"
	"github.com/zestequity/zest-api/internal/store/gormstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Schema is the driver's migrations.
var Schema = gormstore.Schema{
	Name:          "postgres",
	Files:         mustSub(migrationFiles, "migrations"),
	Lock:          `SELECT pg_advisory_xact_lock(hashtext('zest-migrate:' || current_schema()))`,
	TimestampType: "timestamptz",
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// Options tune a Store.
type Options struct {
	// MaxConns caps the pool (default 16).
	MaxConns int32
	// Timeouts bound the waits on the database (defaults: DefaultTimeouts).
	Timeouts Timeouts
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
}

// Store is a PostgreSQL database.
type Store struct {
	*gormstore.Store
	pool *pgxpool.Pool
	// contended counts the statements run again after losing a deadlock or
	// serialization race.
	contended atomic.Int64
}

// Open connects to url, a postgres:// or postgresql:// URL.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	bounds := opts.Timeouts.orDefaults()
	pcfg.ConnConfig.Tracer = tracer{bounds}
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = bounds.Connect
	}
	// A statement past its deadline is first cancelled by the server, so
	// that a write it was making is rolled back rather than left to finish
	// unseen; a server that does not answer the cancel within the grace has
	// its connection dropped.
	pcfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelGrace}
	}
	pcfg.MaxConns = 16
	if opts.MaxConns > 0 {
		pcfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	db, err := gorm.Open(gormpostgres.New(gormpostgres.Config{Conn: stdlib.OpenDBFromPool(pool)}), gormstore.Config(opts.Now))
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	return &Store{Store: gormstore.New(db, opts.Now, classify), pool: pool}, nil
}

// PoolStat is a snapshot of the connection pool, for the metrics.
func (s *Store) PoolStat() *pgxpool.Stat { return s.pool.Stat() }

// Name names the database, for the logs.
func (s *Store) Name() string { return "postgres" }

// Close releases the connections.
func (s *Store) Close() error {
	err := s.Store.Close()
	s.pool.Close()
	return err
}

// Migrate applies the migrations the database has not seen yet; concurrent
// migrators of one schema queue on an advisory lock.
func (s *Store) Migrate(ctx context.Context) ([]gormstore.Migration, error) {
	return s.Store.Migrate(ctx, Schema)
}

// classify wraps failures that a retry may cure as apperr.Unavailable: the
// server refusing work while it shuts down, starts or is overloaded, a
// statement cancelled at its deadline, a lost race that outlived its retries,
// and the connection failing (refused, reset, cut mid-message, closed).
func classify(err error) error {
	return gormstore.Classify(err, func(err error) (bool, bool) {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			switch {
			case strings.HasPrefix(pgErr.Code, "08"), // connection exception
				pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutting down, starting up
				pgErr.Code == "57014",                        // cancelled at the statement's deadline
				pgErr.Code == "53300",                        // too many connections
				pgErr.Code == "40001", pgErr.Code == "40P01": // still contended after retries
				return true, true
			}
			return false, true
		}
		var connectErr *pgconn.ConnectError
		if errors.As(err, &connectErr) || errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
			return true, true
		}
		return false, false
	})
}

// isContention reports a deadlock or serialization failure: the statement
// lost a race and may simply be run again.
func isContention(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// retryContended runs fn again when it loses a deadlock or serialization
// race, which the ordered writes should make rare: a few jittered retries
// resolve those left.
func (s *Store) retryContended(ctx context.Context, fn func() error) error {
	const attempts = 5
	var err error
	for i := range attempts {
		if err = fn(); err == nil || !isContention(err) {
			return err
		}
		s.contended.Add(1)
		if i < attempts-1 {
			delay := retry.Jitter(time.Duration(i+1)*10*time.Millisecond, 0.5, 2.5)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(delay):
			}
		}
	}
	return err
}
