// Package gormstore is the part of the store that reads the same on every
// database: plain CRUD through GORM, the migration runner, and the error
// classification both drivers build on. The drivers (internal/store/postgres
// and internal/store/sqlite) embed Store and add their own statements where
// the databases differ.
package gormstore

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"slices"
	"syscall"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/sqlcount"
)

// Store is a database behind GORM.
type Store struct {
	DB *gorm.DB
	// Classify turns the driver's errors into the service's: see Classify.
	Classify func(error) error
	now      func() time.Time
}

// New returns a Store on db; now is the clock (time.Now when nil).
func New(db *gorm.DB, now func() time.Time, classify func(error) error) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{DB: db, Classify: classify, now: now}
}

// Config is the GORM configuration of both drivers: no logging (the request
// log reports failures), no implicit transactions, and the store's clock.
func Config(now func() time.Time) *gorm.Config {
	if now == nil {
		now = time.Now
	}
	return &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return now().UTC() },
		TranslateError:         false,
	}
}

// Now returns the store's time.
func (s *Store) Now() time.Time {
	// PostgreSQL keeps microseconds; truncating here makes what a write returns
	// equal to what a later read returns, on both databases.
	return s.now().UTC().Truncate(time.Microsecond)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	return s.Classify(sqlDB.PingContext(ctx))
}

// Close releases the connections.
func (s *Store) Close() error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Classify wraps failures that a retry may cure (the database is down,
// restarting, overloaded or busy) as apperr.Unavailable; others pass through
// and become internal errors. dialect judges the driver's own errors: when
// decided is false, err is judged as a network or connection failure.
func Classify(err error, dialect func(error) (retry, decided bool)) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var app *apperr.Error
	if errors.As(err, &app) {
		return err
	}
	retry, decided := dialect(err)
	if !decided {
		retry = connectionLost(err)
	}
	if retry {
		return apperr.Wrap(err, apperr.Unavailable, "The service is temporarily unavailable. Retry later.")
	}
	return err
}

// connectionLost reports a failure of the connection rather than of the
// statement: the server went away (even mid-message, as when it is stopped
// abruptly), the network failed, or the wait for it ran out.
func connectionLost(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn)
}

// CountStatements counts what runs through GORM, and the time it took, for
// sqlcount: on SQLite that is every statement but transaction control.
func CountStatements(db *gorm.DB) error {
	const startedKey = "zest:started"
	started := func(tx *gorm.DB) { tx.InstanceSet(startedKey, time.Now()) }
	count := func(tx *gorm.DB) {
		sqlcount.Add(tx.Statement.Context)
		if t, ok := tx.InstanceGet(startedKey); ok {
			sqlcount.AddTime(tx.Statement.Context, time.Since(t.(time.Time)))
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().Before("gorm:create").Register("zest:start_create", started),
		cb.Create().After("gorm:create").Register("zest:count_create", count),
		cb.Query().Before("gorm:query").Register("zest:start_query", started),
		cb.Query().After("gorm:query").Register("zest:count_query", count),
		cb.Update().Before("gorm:update").Register("zest:start_update", started),
		cb.Update().After("gorm:update").Register("zest:count_update", count),
		cb.Delete().Before("gorm:delete").Register("zest:start_delete", started),
		cb.Delete().After("gorm:delete").Register("zest:count_delete", count),
		cb.Row().Before("gorm:row").Register("zest:start_row", started),
		cb.Row().After("gorm:row").Register("zest:count_row", count),
		cb.Raw().Before("gorm:raw").Register("zest:start_raw", started),
		cb.Raw().After("gorm:raw").Register("zest:count_raw", count),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// SortedBy returns a copy of rows in key order: the drivers write batches in
// key order so that overlapping concurrent batches take their locks in the
// same order. It sorts indexes, not the rows: a row is a few hundred bytes,
// and a batch a thousand rows.
func SortedBy[T any, K cmp.Ordered](rows []T, key func(T) K) []T {
	order := make([]int, len(rows))
	keys := make([]K, len(rows))
	for i, r := range rows {
		order[i], keys[i] = i, key(r)
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
	out := make([]T, len(rows))
	for i, j := range order {
		out[i] = rows[j]
	}
	return out
}
