// Package store is the persistence layer: PostgreSQL in production and an
// embedded SQLite file for zero-setup development, behind one API. GORM and
// SQL stay in this package.
//
// The investor write path is set-based on both databases: a batch of any size
// costs a handful of statements, and rows are matched back by key, never by
// position. On PostgreSQL it runs on pgx directly (arrays and unnest); GORM
// serves everything else, on the same connection pool.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	sqlitedriver "github.com/glebarez/go-sqlite"
	gormsqlite "github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/retry"
)

// Dialect names a supported database.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Options tune a Store.
type Options struct {
	// MaxConns caps the PostgreSQL pool (default 16).
	MaxConns int32
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
}

// Store is the database.
type Store struct {
	db      *gorm.DB
	pool    *pgxpool.Pool // PostgreSQL only
	dialect Dialect
	now     func() time.Time
}

// Open connects to url: postgres://… (or postgresql://…) or sqlite:PATH.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	gcfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return opts.Now().UTC() },
		TranslateError:         false,
	}
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		pcfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
		}
		pcfg.ConnConfig.Tracer = pgxCounter{}
		pcfg.MaxConns = 16
		if opts.MaxConns > 0 {
			pcfg.MaxConns = opts.MaxConns
		}
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
		}
		db, err := gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDBFromPool(pool)}), gcfg)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return &Store{db: db, pool: pool, dialect: Postgres, now: opts.Now}, nil
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err := gorm.Open(gormsqlite.Open(dsn), gcfg)
		if err != nil {
			return nil, fmt.Errorf("open SQLite %s: %w", path, err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, err
		}
		// One connection serialises writers inside the process, which is what
		// SQLite does anyway, without lock-upgrade failures between them.
		sqlDB.SetMaxOpenConns(1)
		if err := countGormStatements(db); err != nil {
			return nil, err
		}
		return &Store{db: db, dialect: SQLite, now: opts.Now}, nil
	default:
		return nil, errors.New("database URL must start with postgres://, postgresql:// or sqlite")
	}
}

// Dialect reports which database the store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close releases the connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err == nil {
		err = sqlDB.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return classify(err)
	}
	return nil
}

func (s *Store) nowUTC() time.Time {
	// PostgreSQL keeps microseconds; truncating here makes what a write returns
	// equal to what a later read returns, on both databases.
	return s.now().UTC().Truncate(time.Microsecond)
}

// classify wraps failures that a retry may cure (the database is down,
// restarting, overloaded or busy) as apperr.Unavailable; others pass through
// and become internal errors.
func classify(err error) error {
	if err == nil || isApp(err) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutting down, starting up
			pgErr.Code == "53300",                        // too many connections
			pgErr.Code == "40001", pgErr.Code == "40P01": // still contended after retries
			return apperr.Wrap(err, apperr.Unavailable, "The service is temporarily unavailable. Retry later.")
		}
		return err
	}
	var sqliteErr *sqlitedriver.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return apperr.Wrap(err, apperr.Unavailable, "The service is temporarily unavailable. Retry later.")
		}
		return err
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, sql.ErrConnDone) || pgconn.SafeToRetry(err) {
		return apperr.Wrap(err, apperr.Unavailable, "The service is temporarily unavailable. Retry later.")
	}
	return err
}

func isApp(err error) bool {
	var e *apperr.Error
	return errors.As(err, &e)
}

// isContention reports a deadlock or serialization failure: the statement
// lost a race and may simply be run again.
func isContention(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// retryContended runs fn again when it loses a deadlock or serialization race.
// Batches are written in key order so overlapping batches cannot deadlock on
// the same key, but rows whose emails collide can still meet in opposite
// orders; a few jittered retries resolve those.
func retryContended(ctx context.Context, fn func() error) error {
	const attempts = 5
	var err error
	for i := range attempts {
		if err = fn(); err == nil || !isContention(err) {
			return err
		}
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
