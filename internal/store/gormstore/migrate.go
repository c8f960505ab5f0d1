package gormstore

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Schema is a driver's versioned migrations, in its own SQL, and what running
// them takes on its database.
type Schema struct {
	Name  string
	Files fs.FS // NNNN_name.sql files at its root
	// Lock, run first in each migration's transaction, makes concurrent
	// migrators of one database take turns; empty when the transaction's
	// own write lock does.
	Lock          string
	TimestampType string
}

// Migrations lists the schema's migrations in version order.
func (sc Schema) Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(sc.Files, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("%s migration file %s is not named NNNN_name.sql", sc.Name, name)
		}
		b, err := fs.ReadFile(sc.Files, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	// Branches developed in parallel reserve version numbers of their own, so
	// versions may skip; each must still be unique.
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations for %s: version %d is used twice", sc.Name, out[i].Version)
		}
	}
	return out, nil
}

// Migrate applies the migrations that the database has not seen yet, each in
// its own transaction. It is idempotent, and safe to run from several
// processes at once.
func (s *Store) Migrate(ctx context.Context, sc Schema) (applied []Migration, err error) {
	all, err := sc.Migrations()
	if err != nil {
		return nil, err
	}
	lock := func(tx *gorm.DB) error {
		if sc.Lock == "" {
			return nil
		}
		return tx.Exec(sc.Lock).Error
	}
	db := s.DB.WithContext(ctx)
	err = db.Transaction(func(tx *gorm.DB) error {
		if err := lock(tx); err != nil {
			return err
		}
		return tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at ` + sc.TimestampType + ` NOT NULL
		)`).Error
	})
	if err != nil {
		return nil, s.Classify(fmt.Errorf("create schema_migrations: %w", err))
	}
	for _, m := range all {
		done := false
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := lock(tx); err != nil {
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
				m.Version, m.Name, s.Now()).Error
		})
		if err != nil {
			return applied, s.Classify(fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err))
		}
		if !done {
			applied = append(applied, m)
		}
	}
	return applied, nil
}
