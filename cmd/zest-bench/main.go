// Command zest-bench measures the import path against the limit of the
// database underneath it, and prints one table. It starts the real server
// binary (bin/zest-api) against throwaway PostgreSQL schemas, so that every
// figure includes HTTP, middleware, validation and the store, and so that the
// server's memory is its own.
//
//	make bench                      # or: go run ./cmd/zest-bench -h
//
// Each figure is the median of -runs runs, with the spread (min–max).
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"
)

type config struct {
	db      string
	bin     string
	runs    int
	rows    int
	long    bool
	write   string
	verbose bool
	only    map[string]bool // figures to measure; empty: all
}

// wants reports whether figure n is to be measured.
func (c config) wants(n string) bool { return len(c.only) == 0 || c.only[n] }

func main() {
	def := os.Getenv("BENCH_DATABASE_URL")
	if def == "" {
		def = "postgres://root@127.0.0.1:5432/test?sslmode=disable"
	}
	var c config
	flag.StringVar(&c.db, "db", def, "PostgreSQL URL (default $BENCH_DATABASE_URL or the local server)")
	flag.StringVar(&c.bin, "bin", "bin/zest-api", "the server binary to measure (make build)")
	flag.IntVar(&c.runs, "runs", 3, "runs per figure; the table shows their median and spread")
	flag.IntVar(&c.rows, "rows", 20000, "rows per throughput run")
	flag.BoolVar(&c.long, "long", false, "also import 1 M rows to compare late throughput with early")
	flag.StringVar(&c.write, "write", "", "also write the report, as Markdown, to this file (docs/performance.md)")
	flag.BoolVar(&c.verbose, "v", false, "log each run")
	only := flag.String("only", "", "measure only these figures, comma-separated (such as 1,2 or 7)")
	flag.Parse()
	if *only != "" {
		c.only = map[string]bool{}
		for n := range strings.SplitSeq(*only, ",") {
			c.only[strings.TrimSpace(n)] = true
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	report, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zest-bench:", err)
		os.Exit(1)
	}
	fmt.Print(report)
	if c.write != "" {
		if err := os.WriteFile(c.write, []byte(docsPage(report)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "zest-bench:", err)
			os.Exit(1)
		}
	}
}

func (c config) logf(format string, args ...any) {
	if c.verbose {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
}

func docsPage(report string) string {
	var b strings.Builder
	b.WriteString(`# Performance

The import path measured against the limit of PostgreSQL on the same
machine. Regenerate this page with:

    make build
    go run ./cmd/zest-bench -runs 5 -long -write docs/performance.md   # as below; -long runs row 5

` + "`make bench`" + ` prints the same table without writing it. Every figure goes
through the real server binary (HTTP, middleware, validation, store) started
against a throwaway PostgreSQL schema; "raw" rows are the same writes made
with plain pgx set-based SQL, no HTTP, no ORM, in the same run; "lean raw"
rows are those writes on the least schema that keeps the promises (below).

`)
	b.WriteString(report)
	b.WriteString(analysis)
	return b.String()
}

// analysis explains the table; it is kept by hand, with the code it
// describes.
//
//go:embed analysis.md
var analysis string
