// Package testkit gives tests real databases and a real server: each test
// gets its own PostgreSQL schema or SQLite file, migrated, and an API server
// whose every response is validated against openapi.yaml.
package testkit

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/testenv"
)

var (
	pgOnce   sync.Once
	pgAdmin  *sql.DB
	pgReason string
)

// postgres returns an admin connection to the test server, or a reason why
// there is none.
func postgres() (*sql.DB, string) {
	pgOnce.Do(func() {
		db, err := testenv.OpenPostgres()
		if err != nil {
			pgReason = err.Error()
			return
		}
		pgAdmin = db
	})
	return pgAdmin, pgReason
}

// RequirePostgres skips the test when PostgreSQL is unavailable, or fails it
// when ZEST_TEST_REQUIRE_POSTGRES is set (as in CI, where a skipped
// PostgreSQL suite would hide failures).
func RequirePostgres(t testing.TB) {
	t.Helper()
	if _, reason := postgres(); reason != "" {
		if os.Getenv("ZEST_TEST_REQUIRE_POSTGRES") != "" {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
}

// PostgresURL creates a fresh schema for the test and returns a URL whose
// connections use it; the schema is dropped when the test ends.
//
// With ZEST_TEST_DATABASE_PER_TEST set, it creates a fresh database instead:
// the schema is chosen by search_path, which is session state, and a pooler
// in transaction mode (PgBouncer, which make test-pgbouncer runs the suite
// through) neither forwards it at start-up nor keeps it between
// transactions, while the database is part of every connection's address.
func PostgresURL(t testing.TB) string {
	t.Helper()
	RequirePostgres(t)
	admin, _ := postgres()
	u, err := url.Parse(testenv.PostgresURL())
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	name := "test_" + ids.Random(8)
	if os.Getenv("ZEST_TEST_DATABASE_PER_TEST") != "" {
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatalf("create database: %v", err)
		}
		t.Cleanup(func() {
			if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
				t.Errorf("drop database %s: %v", name, err)
			}
		})
		u.Path = "/" + name
		return u.String()
	}
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	q := u.Query()
	q.Set("search_path", name)
	// A test's schema need not survive a crash of the server: commits that
	// do not wait for the WAL flush make each migration and write quicker,
	// and change nothing else that a test can see.
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

// SQLiteURL returns the URL of a fresh SQLite file in the test's directory.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "zest.db")
}

// Dialect names a database that tests run against.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Dialects lists the databases every integration test runs against.
var Dialects = []Dialect{SQLite, Postgres}

// URL returns a fresh database of the dialect.
func URL(t testing.TB, d Dialect) string {
	if d == Postgres {
		return PostgresURL(t)
	}
	return SQLiteURL(t)
}

// EachDialect runs fn as a subtest per database.
func EachDialect(t *testing.T, fn func(t *testing.T, d Dialect)) {
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) { fn(t, d) })
	}
}

// DB is a fresh, migrated database: the store under test, and a plain SQL
// connection for the test's own checks.
type DB struct {
	Dialect Dialect
	URL     string
	Store   store.DB
	SQL     *sql.DB
}

// NewDB opens and migrates a fresh database of the dialect.
func NewDB(t testing.TB, d Dialect, opts store.Options) *DB {
	t.Helper()
	return OpenDB(t, d, URL(t, d), opts)
}

// OpenDB opens and migrates the database of the dialect at u.
func OpenDB(t testing.TB, d Dialect, u string, opts store.Options) *DB {
	t.Helper()
	st, err := store.Open(context.Background(), u, opts)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", d, err)
	}
	var raw *sql.DB
	if d == Postgres {
		raw, err = sql.Open("pgx", u)
	} else {
		raw, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(u, "sqlite:")+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return &DB{Dialect: d, URL: u, Store: st, SQL: raw}
}

// Rebind turns ? placeholders into the database's own.
func (db *DB) Rebind(query string) string {
	if db.Dialect != Postgres {
		return query
	}
	return RebindPostgres(query)
}

// RebindPostgres turns ? placeholders into PostgreSQL's $n.
func RebindPostgres(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Count returns the number of rows of a table.
func (db *DB) Count(t testing.TB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// Unpaired returns the zestPersonIds of people without a user, and counts
// users without a person or sharing one: the pairing invariant says both
// are empty.
func (db *DB) Unpaired(t testing.TB) (people []string, badUsers int) {
	t.Helper()
	rows, err := db.SQL.Query(`SELECT p.zest_person_id FROM people p LEFT JOIN users u ON u.person_id = p.id WHERE u.id IS NULL ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		people = append(people, id)
	}
	if err := db.SQL.QueryRow(`SELECT
		(SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.id = u.person_id)) +
		(SELECT count(*) - count(DISTINCT person_id) FROM users)`).Scan(&badUsers); err != nil {
		t.Fatal(err)
	}
	return people, badUsers
}

// Clock is a settable clock for tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
