package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

//go:embed migrations
var migrationFiles embed.FS

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the dialect's migrations in version order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %s/%s is not named NNNN_name.sql", dir, name)
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := range out {
		if out[i].Version != i+1 {
			return nil, fmt.Errorf("migrations for %s are not numbered 1, 2, 3…: found %d at position %d", d, out[i].Version, i+1)
		}
	}
	return out, nil
}

// Migrate applies the migrations that the database has not seen yet, each in
// its own transaction. It is idempotent, and safe to run from several
// processes at once: on PostgreSQL they queue on an advisory lock per schema,
// on SQLite on the database's write lock.
func (s *Store) Migrate(ctx context.Context) (applied []Migration, err error) {
	all, err := Migrations(s.dialect)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	err = db.Transaction(func(tx *gorm.DB) error {
		if err := s.lockMigrations(tx); err != nil {
			return err
		}
		return tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at ` + s.timestampType() + ` NOT NULL
		)`).Error
	})
	if err != nil {
		return nil, classify(fmt.Errorf("create schema_migrations: %w", err))
	}
	for _, m := range all {
		done := false
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := s.lockMigrations(tx); err != nil {
				return err
			}
			var n int64
			if err := tx.Raw(`SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				done = true
				return nil
			}
			if err := tx.Exec(m.SQL).Error; err != nil {
				return err
			}
			return tx.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, s.nowUTC()).Error
		})
		if err != nil {
			return applied, classify(fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err))
		}
		if !done {
			applied = append(applied, m)
		}
	}
	return applied, nil
}

// lockMigrations makes concurrent migrators of one schema take turns, until
// tx ends. SQLite needs nothing: its transactions here begin IMMEDIATE.
func (s *Store) lockMigrations(tx *gorm.DB) error {
	if s.dialect != Postgres {
		return nil
	}
	return tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('zest-migrate:' || current_schema()))`).Error
}

func (s *Store) timestampType() string {
	if s.dialect == Postgres {
		return "timestamptz"
	}
	return "DATETIME"
}
