// Package importer imports a partner's file of investors through the Zest
// Partner API, the way a careful partner would: it validates every row
// against the contract's own row schema first and sends only the rows that
// can succeed, in batches, each under an Idempotency-Key derived from the
// file's content; it retries what may succeed later, resends rows that
// failed transiently, and writes one result per input row.
//
// An interrupted or failed import is finished by running it again: the
// journal next to the results file records every answered request, so the
// rerun skips those and sends the rest under the same keys (see journal.go).
// Nothing is ever created twice whatever happens, because the server
// deduplicates rows by partnerInvestorId.
package importer

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/spec"
)

// ErrInvalidOptions reports options that cannot describe an import.
var ErrInvalidOptions = errors.New("invalid import options")

// Options describe an import.
type Options struct {
	URL   string // the API's base URL
	Token string // the tenant's API token; or ClientID, KeyID and PrivateKey
	// ClientID, KeyID and PrivateKey sign assertions that are exchanged for
	// short-lived access tokens (POST /v1/oauth2/tokens), renewed as they
	// run out.
	ClientID   string
	KeyID      string
	PrivateKey crypto.Signer
	File       string // the CSV or JSON Lines file
	// Format is FormatCSV or FormatJSONL; empty picks it from File's
	// extension (.csv, .jsonl, .ndjson).
	Format string
	// ResultsPath is where the results go (default File + ".results.csv");
	// the journal is ResultsPath + ".journal".
	ResultsPath string
	// BatchSize is the number of rows per request, at most the contract's
	// limit, which is the default.
	BatchSize int
	// Progress receives progress reports (default: none); a terminal gets
	// a bar, anything else a line every ProgressInterval (default 5s); both
	// show the rate and an ETA.
	Progress         io.Writer
	ProgressInterval time.Duration
	// HTTPClient sends the requests (default: an http.Client with a
	// two-minute timeout per request).
	HTTPClient client.HttpRequestDoer
	Retry      Retry
}

// Summary counts the rows of the file by outcome.
type Summary struct {
	Rows          int
	Created       int
	AlreadyExists int
	Failed        int
	Pending       int // not answered: the import stopped first
	Resumed       int // rows whose outcome an earlier run recorded
	Results       string
}

// Succeeded tells whether every row was imported, now or before.
func (s Summary) Succeeded() bool { return s.Created+s.AlreadyExists == s.Rows }

func (s Summary) String() string {
	out := fmt.Sprintf("%d rows: %d created, %d already_exists, %d failed, %d pending",
		s.Rows, s.Created, s.AlreadyExists, s.Failed, s.Pending)
	if s.Resumed > 0 {
		out += fmt.Sprintf(" (%d answered in an earlier run)", s.Resumed)
	}
	return out + "; results in " + s.Results
}

// Run imports the file. The results file is written whenever the file could
// be read, whatever happens next; the returned error says why the import
// could not finish, and rows that failed are counted in the Summary only.
func Run(ctx context.Context, opts Options) (Summary, error) {
	r, err := prepare(ctx, opts)
	if err != nil {
		return Summary{}, err
	}
	plan, err := planBatches(r.rows, r.fileHash, r.opts.BatchSize)
	if err != nil {
		return Summary{}, err
	}
	answered, err := r.openJournal()
	if err != nil {
		return Summary{}, err
	}
	skipped := 0
	for _, b := range plan {
		if answered[b.key] {
			skipped++
		}
	}
	tick := time.NewTicker(r.opts.ProgressInterval)
	defer tick.Stop()
	r.prog = startProgress(r.opts.Progress, isTerminal(r.opts.Progress), tick.C, time.Now, r.counts)
	r.sender.note = r.prog.note
	r.prog.note("%d rows in %s, %d failed locally; batches: %d to send, %d answered in an earlier run",
		len(r.rows), r.opts.File, r.localFailures, len(plan)-skipped, skipped)
	err = r.importRows(ctx, plan, answered)
	r.prog.finish()
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("interrupted: %w", err)
	}
	return r.finish(err)
}

// prepare checks the options against the contract, and reads and validates
// the file.
func prepare(ctx context.Context, opts Options) (*run, error) {
	doc, err := spec.Load()
	if err != nil {
		return nil, err
	}
	rules, err := newRowRules(doc, time.Now())
	if err != nil {
		return nil, err
	}
	maxBatch, err := batchLimit(doc)
	if err != nil {
		return nil, err
	}
	if err := opts.complete(maxBatch); err != nil {
		return nil, err
	}
	snd, err := newSender(ctx, opts)
	if err != nil {
		return nil, err
	}
	recs, fileHash, err := readInput(opts.File, opts.Format, rules)
	if err != nil {
		return nil, err
	}
	r := &run{opts: opts, fileHash: fileHash, rows: validateRows(recs, rules), sender: snd}
	for _, row := range r.rows {
		r.counts.add(row.out, 1)
		if row.input == nil {
			r.localFailures++
		}
	}
	return r, nil
}

// openJournal opens the import's journal and applies what an earlier run
// recorded in it; it returns the keys of the requests answered.
func (r *run) openJournal() (map[string]bool, error) {
	j, entries, err := openJournal(r.opts.ResultsPath+".journal", journalHeader{
		Journal: journalVersion, File: r.fileHash, BatchSize: r.opts.BatchSize,
		Server: strings.TrimRight(r.opts.URL, "/"), Tenant: r.opts.tenantFingerprint(),
	})
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	r.journal = j
	return r.resume(entries), nil
}

// finish writes the results and sums up.
func (r *run) finish(err error) (Summary, error) {
	err = errors.Join(err, r.journal.close())
	sum := r.summary()
	if finishedRows(sum.Results) > sum.Rows-sum.Pending {
		// A run that got less far than an earlier one (a refused token, an
		// unreachable server) must not replace the better record.
		sum.Results = strings.TrimSuffix(sum.Results, ".csv") + ".incomplete.csv"
	}
	if werr := writeResults(sum.Results, r.rows); werr != nil {
		err = errors.Join(err, fmt.Errorf("results: %w", werr))
	}
	if unfinished := sum.Pending + r.counts.resend; err != nil && unfinished > 0 {
		err = fmt.Errorf("%w; %d of %d rows are not finished: run the same import again to finish them", err, unfinished, sum.Rows)
	}
	return sum, err
}

// batchLimit reads the contract's limit on rows per request.
func batchLimit(doc *openapi3.T) (int, error) {
	if req := doc.Components.Schemas["ImportInvestorsRequest"]; req != nil && req.Value != nil {
		if inv := req.Value.Properties["investors"]; inv != nil && inv.Value != nil && inv.Value.MaxItems != nil {
			return int(*inv.Value.MaxItems), nil
		}
	}
	return 0, errors.New("openapi.yaml: ImportInvestorsRequest.investors has no maxItems")
}

// complete checks the options and fills in the defaults.
func (o *Options) complete(maxBatch int) error {
	var problems []string
	if o.URL == "" {
		problems = append(problems, "--url is required")
	} else if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, "--url must be an http or https URL, such as https://api.zestequity.com")
	}
	switch {
	case o.Token != "" && (o.ClientID != "" || o.PrivateKey != nil):
		problems = append(problems, "give --token, or --client-id with --kid and --private-key, not both")
	case o.Token == "" && o.ClientID == "" && o.PrivateKey == nil:
		problems = append(problems, "--token is required, or --client-id with --kid and --private-key")
	case o.Token == "" && (o.ClientID == "" || o.KeyID == "" || o.PrivateKey == nil):
		problems = append(problems, "--client-id, --kid and --private-key go together")
	}
	switch {
	case o.BatchSize == 0:
		o.BatchSize = maxBatch
	case o.BatchSize < 1 || o.BatchSize > maxBatch:
		problems = append(problems, fmt.Sprintf("--batch-size must be between 1 and %d", maxBatch))
	}
	switch o.Format {
	case FormatCSV, FormatJSONL:
	case "ndjson":
		o.Format = FormatJSONL
	case "":
		var ok bool
		if o.Format, ok = detectFormat(o.File); !ok && o.File != "" {
			problems = append(problems, fmt.Sprintf("cannot tell the format of %s from its extension; pass --format csv or --format jsonl", o.File))
		}
	default:
		problems = append(problems, fmt.Sprintf("--format must be csv or jsonl, not %q", o.Format))
	}
	if o.File == "" {
		problems = append(problems, "the file to import is required")
	}
	if o.ResultsPath == "" {
		o.ResultsPath = o.File + ".results.csv"
	}
	if o.File != "" && o.ResultsPath == o.File {
		problems = append(problems, "--results must not be the file to import")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, strings.Join(problems, "; "))
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = 5 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 2 * time.Minute}
	}
	if o.Retry.Attempts <= 0 {
		o.Retry.Attempts = 6
	}
	if o.Retry.BaseDelay <= 0 {
		o.Retry.BaseDelay = 500 * time.Millisecond
	}
	if o.Retry.MaxDelay <= 0 {
		o.Retry.MaxDelay = 30 * time.Second
	}
	return nil
}

// run is one import in progress.
type run struct {
	opts          Options
	fileHash      string
	rows          []row
	localFailures int
	counts        tally
	journal       *journal
	sender        *sender
	prog          *progress
}

// resume applies the outcomes an earlier run journaled, in the order they
// were answered, and returns the keys of the requests answered.
func (r *run) resume(entries []journalEntry) map[string]bool {
	byLine := make(map[int]int, len(r.rows))
	for i, row := range r.rows {
		if row.input != nil {
			byLine[row.line] = i
		}
	}
	answered := make(map[string]bool, len(entries))
	for _, e := range entries {
		answered[e.Key] = true
		for _, jr := range e.Rows {
			if i, ok := byLine[jr.Line]; ok {
				r.set(i, jr.outcome)
				r.rows[i].resumed = true
			}
		}
	}
	return answered
}

// importRows sends the planned batches that no earlier run had answered,
// then resends the rows that failed transiently, in rounds with backoff,
// until none is left or they have had their attempts.
func (r *run) importRows(ctx context.Context, plan []*batch, answered map[string]bool) error {
	for _, b := range plan {
		if answered[b.key] {
			continue
		}
		if err := r.send(ctx, b); err != nil {
			return err
		}
	}
	for attempt := 1; attempt < r.opts.Retry.Attempts; attempt++ {
		var again []int
		for i := range r.rows {
			if r.rows[i].out.Retryable {
				again = append(again, i)
			}
		}
		if len(again) == 0 {
			return nil
		}
		d := r.opts.Retry.delay(attempt, 0)
		r.prog.note("%d rows failed transiently; resending them in %s", len(again), d.Round(time.Millisecond))
		if err := sleep(ctx, d); err != nil {
			return err
		}
		for chunk := range slices.Chunk(again, r.opts.BatchSize) {
			b, err := resendBatch(r.rows, chunk, r.fileHash, r.journal.entries)
			if err != nil {
				return err
			}
			if err := r.send(ctx, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// send posts a batch and records its answer: in the journal first, so that
// nothing is acted on that a rerun would not know.
func (r *run) send(ctx context.Context, b *batch) error {
	results, err := r.sender.send(ctx, b)
	if err != nil {
		return err
	}
	e := journalEntry{Key: b.key, Rows: make([]journalRow, len(b.rows))}
	for i, ri := range b.rows {
		e.Rows[i] = journalRow{Line: r.rows[ri].line, outcome: outcomeOf(results[i])}
	}
	if err := r.journal.append(e); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	for i, ri := range b.rows {
		r.set(ri, e.Rows[i].outcome)
	}
	r.prog.update(r.counts)
	return nil
}

func (r *run) set(i int, o outcome) {
	r.counts.add(r.rows[i].out, -1)
	r.rows[i].out, r.rows[i].resumed = o, false
	r.counts.add(o, 1)
}

func (r *run) summary() Summary {
	s := Summary{Rows: len(r.rows), Created: r.counts.created, AlreadyExists: r.counts.alreadyExists,
		Failed: r.counts.failed + r.counts.resend, Pending: r.counts.pending, Results: r.opts.ResultsPath}
	for _, row := range r.rows {
		if row.resumed {
			s.Resumed++
		}
	}
	return s
}
