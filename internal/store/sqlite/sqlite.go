// Package sqlite is the embedded SQLite driver of the store, for zero-setup
// development: everything runs through GORM, on one connection.
package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	sqlitedriver "github.com/glebarez/go-sqlite"
	gormsqlite "github.com/glebarez/sqlite"
	"gorm.io/gorm"

	"github.com/zestequity/zest-api/internal/store/gormstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Schema is the driver's migrations. Concurrent migrators need no lock of
// their own: the transactions begin IMMEDIATE, taking the write lock.
var Schema = gormstore.Schema{
	Name:          "sqlite",
	Files:         mustSub(migrationFiles, "migrations"),
	TimestampType: "DATETIME",
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// chunk bounds the rows per statement, far below SQLite's limit of 32766
// bound parameters.
const chunk = 500

// Options tune a Store.
type Options struct {
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
}

// Store is a SQLite database file.
type Store struct {
	*gormstore.Store
}

// Open opens (creating it if need be) the database file at path.
func Open(path string, opts Options) (*Store, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := gorm.Open(gormsqlite.Open(dsn), gormstore.Config(opts.Now))
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
	if err := gormstore.CountStatements(db); err != nil {
		return nil, err
	}
	return &Store{Store: gormstore.New(db, opts.Now, classify)}, nil
}

// Name names the database, for the logs.
func (s *Store) Name() string { return "sqlite" }

// Migrate applies the migrations the database has not seen yet.
func (s *Store) Migrate(ctx context.Context) ([]gormstore.Migration, error) {
	return s.Store.Migrate(ctx, Schema)
}

// classify wraps failures that a retry may cure as apperr.Unavailable: a busy
// or locked database among SQLite's own.
func classify(err error) error {
	return gormstore.Classify(err, func(err error) (bool, bool) {
		var sqliteErr *sqlitedriver.Error
		if errors.As(err, &sqliteErr) {
			switch sqliteErr.Code() & 0xff {
			case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
				return true, true
			}
			return false, true
		}
		return false, false
	})
}
