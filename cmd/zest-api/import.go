package main

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/zestequity/zest-api/internal/importer"
)

// The import's exit statuses, which scripts rely on: keep them in step with
// its help and README.md.
const (
	importRowsFailed  = 1
	importCouldNotRun = 2
	importInterrupted = 3
)

// baseURLHint answers the commonest mistake with --url: giving the
// operation's URL, or the /v1 prefix, instead of the server's.
const baseURLHint = "--url is the API's base URL, such as https://api.example.com, without /v1"

// The import is the partner's side of the API: it imports a file of
// investors into a running server, over HTTP, with a tenant token.
var importCommand = &command{
	name:    "import",
	args:    "FILE",
	nargs:   1,
	summary: "import a CSV or JSON Lines file of investors into a running server",
	about: `Every row is first checked against the API's own row schema; a row that cannot
succeed fails here and is not sent. The others are sent in batches, each under
an Idempotency-Key derived from the file, and what may succeed later (a lost
connection, 409, 429, 5xx, a row answered retryable) is retried with backoff.
Progress goes to stderr, the summary to stdout.

The file:
  CSV          a header line naming the columns, then one investor per line.
               Required columns: partnerInvestorId, email, firstName, lastName,
               dateOfBirth (YYYY-MM-DD). Optional: countryOfResidence (ISO 3166-1
               alpha-2, such as AE; an empty cell means none). No other column.
  JSON Lines   one object per line with the same fields (.jsonl or .ndjson).

The results file (--results) has one line per input row: line,
partnerInvestorId, status (created, already_exists, failed or pending),
zestPersonId, errorCode, errorMessage. Next to it, the journal (the results
path plus .journal) records each answer of the server as it arrives. If the
import stops, run the same command again: it resumes from the journal, sends
only what was not answered, and never creates an investor twice. The journal
is kept, so that a rerun of a finished import sends nothing; it is replaced
when the file's content, --batch-size, --url, --token or --client-id
change, and you may
delete it once the import is done.

Authentication: --token, or --client-id with --kid and --private-key, which
signs short-lived assertions for access tokens (POST /v1/oauth2/tokens) and
renews them as they run out.

Exit status:
  0   every row was imported (created or already_exists)
  1   the import finished but some rows failed: the results file says which and why
  2   the import could not run: bad flags, an unreadable file, a refused token,
      an unreachable server
  3   interrupted (Ctrl-C or SIGTERM): run the same command again to resume`,
	setup: func(fs *flag.FlagSet) runner {
		base := fs.String("url", "", "the API's base `URL`, such as https://api.example.com (required)")
		token := fs.String("token", "", "the tenant's API `token`, zest_… (or --client-id, --kid and --private-key)")
		clientID := fs.String("client-id", "", "the tenant's client `id`, with --kid and --private-key: sign assertions for access tokens")
		kid := fs.String("kid", "", "the `id` under which Zest registered the key's public half")
		keyFile := fs.String("private-key", "", "the PEM `file` of the private key that signs the assertions")
		results := fs.String("results", "", "the results `file` (default FILE.results.csv)")
		batchSize := fs.Int("batch-size", 0, "`rows` per request, 1 to 1000 (default 1000)")
		format := fs.String("format", "", "the file's `format`, csv or jsonl (default: from its extension)")
		return func(ctx context.Context, pos []string, out streams) error {
			if u, err := url.Parse(*base); err == nil && strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/v1") {
				return &usageError{"import", baseURLHint}
			}
			var key crypto.Signer
			if *keyFile != "" {
				data, err := os.ReadFile(*keyFile)
				if err != nil {
					return &exitError{importCouldNotRun, err.Error()}
				}
				if key, err = importer.ParsePrivateKey(data); err != nil {
					return &usageError{"import", fmt.Sprintf("--private-key %s: %v", *keyFile, err)}
				}
			}
			sum, err := importer.Run(ctx, importer.Options{
				URL: *base, Token: *token, ClientID: *clientID, KeyID: *kid, PrivateKey: key, File: pos[0], Format: *format,
				ResultsPath: *results, BatchSize: *batchSize, Progress: out.stderr,
			})
			if errors.Is(err, importer.ErrInvalidOptions) {
				return &usageError{"import", strings.TrimPrefix(err.Error(), importer.ErrInvalidOptions.Error()+": ")}
			}
			if sum.Rows > 0 || err == nil {
				fmt.Fprintln(out.stdout, sum)
			}
			return importStatus(ctx, sum, err)
		}
	},
}

// importStatus turns the import's outcome into the message and exit status
// its help promises.
func importStatus(ctx context.Context, sum importer.Summary, err error) error {
	var refused *importer.RequestError
	switch {
	case err != nil && ctx.Err() != nil:
		return &exitError{importInterrupted, fmt.Sprintf(
			"interrupted before every row was answered; run the same command again to resume where it stopped (the results file %s lists the rows still pending)", sum.Results)}
	case errors.As(err, &refused) && refused.Status == http.StatusNotFound:
		return &exitError{importCouldNotRun, fmt.Sprintf("%v\n%s", err, baseURLHint)}
	case errors.As(err, &refused) && refused.Status == http.StatusUnauthorized:
		return &exitError{importCouldNotRun, fmt.Sprintf("%v\ncheck --token (the tenant's token, as `zest-api tokens create` printed it) or --client-id, --kid and --private-key", err)}
	case err != nil:
		return &exitError{importCouldNotRun, err.Error()}
	case !sum.Succeeded():
		return &exitError{importRowsFailed, fmt.Sprintf("%d of %d rows were not imported; see %s", sum.Rows-sum.Created-sum.AlreadyExists, sum.Rows, sum.Results)}
	}
	return nil
}
