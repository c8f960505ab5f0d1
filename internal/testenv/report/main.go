// Command report tells, after go test, whether the PostgreSQL and browser
// tests ran or were skipped, and why: go test prints only "ok" for a
// package whose tests skipped, which would hide a suite that never ran.
package main

import (
	"fmt"

	"github.com/zestequity/zest-api/internal/testenv"
)

func main() {
	if db, err := testenv.OpenPostgres(); err != nil {
		fmt.Printf("PostgreSQL tests: skipped: %v\n", err)
	} else {
		db.Close()
		fmt.Printf("PostgreSQL tests: ran against %s\n", testenv.Redacted(testenv.PostgresURL()))
	}
	if path, err := testenv.Chromium(); err != nil {
		fmt.Printf("Browser test: skipped: %v\n", err)
	} else {
		fmt.Printf("Browser test: ran with %s\n", path)
	}
	if !testenv.Long() {
		fmt.Println("Long tests: small sizes (ZEST_TEST_LONG unset; make test-long runs them at full size)")
	} else {
		fmt.Println("Long tests: ran at full size (ZEST_TEST_LONG set)")
	}
}
