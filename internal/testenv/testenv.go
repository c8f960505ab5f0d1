// Package testenv finds what the tests need beyond Go: a PostgreSQL server
// and a headless Chromium. The tests skip what is missing; make test then
// reports, through testenv/report, which of them ran, by the same checks.
package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// DefaultPostgresURL is the local server of the development machines and CI.
const DefaultPostgresURL = "postgres://root@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is TEST_DATABASE_URL, or DefaultPostgresURL when unset.
func PostgresURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// OpenPostgres connects to the test server; its error says why there is
// none.
func OpenPostgres() (*sql.DB, error) {
	db, err := sql.Open("pgx", PostgresURL())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err = db.PingContext(ctx); err != nil {
			db.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at TEST_DATABASE_URL (%s) is unavailable: %v", Redacted(PostgresURL()), err)
	}
	return db, nil
}

// Redacted hides the password of a database URL, for messages.
func Redacted(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "an unparsable URL"
	}
	return u.Redacted()
}

// Chromium is the path of the browser that the reference page test drives.
func Chromium() (string, error) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		return "", fmt.Errorf("chromium is not on PATH (apt-get install chromium)")
	}
	return path, nil
}

// Long reports whether ZEST_TEST_LONG is set (make test-long): tests then
// run at full size, such as a 100 000-row import, where the default run
// checks the same behaviour on a size that keeps make test quick.
func Long() bool { return os.Getenv("ZEST_TEST_LONG") != "" }
