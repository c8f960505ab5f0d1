package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/zestequity/zest-api/internal/importer"
)

// importCmd is the partner's side of the API: it imports a file of
// investors into a running server, over HTTP, with a tenant token.
func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	url := fs.String("url", "", "the API's base URL")
	token := fs.String("token", "", "the tenant's API token")
	results := fs.String("results", "", "the results file (default FILE.results.csv)")
	batchSize := fs.Int("batch-size", 0, "rows per request, 1 to 1000 (default 1000)")
	format := fs.String("format", "", "csv or jsonl (default: from the file's extension)")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	sum, err := importer.Run(ctx, importer.Options{
		URL: *url, Token: *token, File: pos[0], Format: *format,
		ResultsPath: *results, BatchSize: *batchSize, Progress: stderr,
	})
	if errors.Is(err, importer.ErrInvalidOptions) {
		return fmt.Errorf("%w: import: %s", errUsage, strings.TrimPrefix(err.Error(), importer.ErrInvalidOptions.Error()+": "))
	}
	if sum.Rows > 0 || err == nil {
		fmt.Fprintln(stdout, sum)
	}
	if err != nil {
		return err
	}
	if !sum.Succeeded() {
		return fmt.Errorf("%d of %d rows were not imported; see %s", sum.Rows-sum.Created-sum.AlreadyExists, sum.Rows, sum.Results)
	}
	return nil
}
