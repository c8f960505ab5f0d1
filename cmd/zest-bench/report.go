package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// series is one figure's value in each run.
type series []float64

func (s series) median() float64 {
	c := slices.Clone(s)
	slices.Sort(c)
	if len(c) == 0 {
		return 0
	}
	return c[len(c)/2]
}

func (s series) spread(format func(float64) string) string {
	if len(s) < 2 {
		return "–"
	}
	return format(slices.Min(s)) + " – " + format(slices.Max(s))
}

type row struct {
	n, figure, value, spread, target, met string
}

func rate(v float64) string { return fmt.Sprintf("%.0f", v) }
func ms(v float64) string   { return fmt.Sprintf("%.2f ms", v) }
func ratio(v float64) string {
	return fmt.Sprintf("%.2f", v)
}
func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// budgetSplit collects, run by run, where a server's 1000-row batch goes
// against the 0.8 × lean raw budget: its time with 1 client, and its CPU
// with 4.
type budgetSplit struct {
	lean1, latency1, sql1, own1  series // ms per batch
	leanCPU4, dbCPU4, serverCPU4 series // core-ms per batch
	cpuUnknown                   bool
}

func (s *budgetSplit) add(clients int, lean rawRun, server batchRun) {
	coreMs := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	if clients == 1 {
		s.lean1 = append(s.lean1, 1e6/lean.rate)
		s.latency1, s.sql1 = append(s.latency1, server.latencyMs), append(s.sql1, server.sqlMs)
		s.own1 = append(s.own1, server.latencyMs-server.sqlMs)
		return
	}
	s.leanCPU4 = append(s.leanCPU4, coreMs(lean.dbCPU+lean.clientCPU))
	s.dbCPU4, s.serverCPU4 = append(s.dbCPU4, coreMs(server.dbCPU)), append(s.serverCPU4, coreMs(server.serverCPU))
	s.cpuUnknown = s.cpuUnknown || !lean.dbCPUKnown || !server.dbCPUKnown
}

// rows reports the split as figure n of the batches named what; raw, when
// measured, is the time per batch of the server's statements alone.
func (s *budgetSplit) rows(n, what string, raw series) []row {
	// A batch from one client is sequential: the server's own work, then
	// its statements. 0.8 × lean raw leaves it lean raw's time per batch /
	// 0.8, whatever the split.
	budget1 := s.lean1.median() / 0.8
	within := func(v, budget float64) string {
		return yes(v <= budget) + fmt.Sprintf(" (%.0f%% of it)", 100*v/budget)
	}
	target1 := fmt.Sprintf("≤ %s (lean raw's / 0.8)", ms(budget1))
	out := []row{{n, "lean raw, 1 client: time per 1000-row batch", ms(s.lean1.median()), s.lean1.spread(ms), "", ""}}
	if len(raw) > 0 {
		out = append(out, row{n, "raw, 1 client: time per batch (the server's statements on the project's schema, without the server)",
			ms(raw.median()), raw.spread(ms), target1, within(raw.median(), budget1)})
	}
	out = append(out,
		row{n, what + ", 1 client: latency, p50", ms(s.latency1.median()), s.latency1.spread(ms), target1, within(s.latency1.median(), budget1)},
		row{n, "… of which in its SQL statements (pgx and PostgreSQL), p50", ms(s.sql1.median()), s.sql1.spread(ms), "the same budget", within(s.sql1.median(), budget1)},
		row{n, "… of which the server's own (HTTP, decoding, checks, building the rows), p50", ms(s.own1.median()), s.own1.spread(ms), "", ""})
	// With 4 clients on this machine's cores, throughput follows the CPU a
	// batch costs everyone on it.
	if !s.cpuUnknown {
		budget4 := s.leanCPU4.median() / 0.8
		out = append(out,
			row{n, "lean raw, 4 clients: CPU per batch, PostgreSQL and the writer (core-ms)", ratio(s.leanCPU4.median()), s.leanCPU4.spread(ratio), "", ""},
			row{n, what + ", 4 clients: PostgreSQL's CPU per batch (core-ms)", ratio(s.dbCPU4.median()), s.dbCPU4.spread(ratio),
				fmt.Sprintf("≤ %.2f (lean raw's / 0.8)", budget4), within(s.dbCPU4.median(), budget4)},
			row{n, "… and the server's CPU per batch (core-ms)", ratio(s.serverCPU4.median()), s.serverCPU4.spread(ratio), "", ""})
	}
	return out
}

// repeat runs fn runs times.
func repeat(ctx context.Context, c config, name string, fn func() error) error {
	for i := range c.runs {
		c.logf("%s, run %d/%d", name, i+1, c.runs)
		if err := fn(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

func run(ctx context.Context, c config) (string, error) {
	admin, err := pgxpool.New(ctx, c.db)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	files, err := os.MkdirTemp("", "zest-bench-files-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(files)
	b := &bench{c: c, admin: admin, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, files: "file://" + files}
	var rows []row
	add := func(r row) { rows = append(rows, r) }

	// 1 and 2: the raw limit and the server, 1 and 4 clients; 3: replays; 9:
	// memory. Each run measures the raw writes and the server back to back
	// and the ratios are taken per run: the machine's disk is noisy from one
	// minute to the next, and a ratio of medians taken minutes apart would
	// carry that noise.
	var raw1, raw4, lean1, lean4, new1, new4, rep1, rep4, frac1, frac4, fracLean1, fracLean4, rss series
	// 11: where a batch's time goes, against lean raw's and raw's.
	var where budgetSplit
	var rawBatch1 series
	if c.wants("1") || c.wants("2") || c.wants("3") || c.wants("9") {
		if err := repeat(ctx, c, "raw SQL, lean raw SQL and HTTP import", func() error {
			for _, clients := range []int{1, 4} {
				r, err := b.rawThroughput(ctx, clients, b.project())
				if err != nil {
					return err
				}
				l, err := b.rawThroughput(ctx, clients, b.lean())
				if err != nil {
					return err
				}
				h, err := b.httpThroughput(ctx, clients)
				if err != nil {
					return err
				}
				where.add(clients, l, h.batchRun)
				if clients == 1 {
					raw1, new1, rep1, frac1 = append(raw1, r.rate), append(new1, h.rate), append(rep1, h.replayRate), append(frac1, h.rate/r.rate)
					lean1, fracLean1 = append(lean1, l.rate), append(fracLean1, h.rate/l.rate)
					rawBatch1 = append(rawBatch1, 1e6/r.rate)
				} else {
					raw4, new4, rep4, frac4 = append(raw4, r.rate), append(new4, h.rate), append(rep4, h.replayRate), append(frac4, h.rate/r.rate)
					lean4, fracLean4 = append(lean4, l.rate), append(fracLean4, h.rate/l.rate)
				}
				rss = append(rss, float64(h.rss)/(1<<20))
			}
			return nil
		}); err != nil {
			return "", err
		}
		add(row{"1", "raw pgx set-based SQL, 1000-row batches, 1 client (rows/s)", rate(raw1.median()), raw1.spread(rate), "the limit", ""})
		add(row{"1", "raw pgx set-based SQL, 1000-row batches, 4 clients (rows/s)", rate(raw4.median()), raw4.spread(rate), "the limit", ""})
		add(row{"1", "lean raw: the same on the least schema, 1 client (rows/s)", rate(lean1.median()), lean1.spread(rate), "", ""})
		add(row{"1", "lean raw: the same on the least schema, 4 clients (rows/s)", rate(lean4.median()), lean4.spread(rate), "", ""})
		add(row{"2", "POST /v1/investors, new 1000-row batches, 1 client (rows/s)", rate(new1.median()), new1.spread(rate), "", ""})
		add(row{"2", "… as a fraction of raw, 1 client (per run)", ratio(frac1.median()), frac1.spread(ratio), "≥ 0.70", yes(frac1.median() >= 0.7)})
		add(row{"2", "… as a fraction of lean raw, 1 client (per run)", ratio(fracLean1.median()), fracLean1.spread(ratio), "≥ 0.80", yes(fracLean1.median() >= 0.8)})
		add(row{"2", "POST /v1/investors, new 1000-row batches, 4 clients (rows/s)", rate(new4.median()), new4.spread(rate), "", ""})
		add(row{"2", "… as a fraction of raw, 4 clients (per run)", ratio(frac4.median()), frac4.spread(ratio), "≥ 0.70", yes(frac4.median() >= 0.7)})
		add(row{"2", "… as a fraction of lean raw, 4 clients (per run)", ratio(fracLean4.median()), fracLean4.spread(ratio), "≥ 0.80", yes(fracLean4.median() >= 0.8)})
		x1, x4 := rep1.median()/new1.median(), rep4.median()/new4.median()
		add(row{"3", "the same batches replayed, all already_exists, 1 client (rows/s)", rate(rep1.median()), rep1.spread(rate), "≥ 2 × new", yes(x1 >= 2) + fmt.Sprintf(" (%.1f×)", x1)})
		add(row{"3", "the same batches replayed, all already_exists, 4 clients (rows/s)", rate(rep4.median()), rep4.spread(rate), "≥ 2 × new", yes(x4 >= 2) + fmt.Sprintf(" (%.1f×)", x4)})

		for _, r := range where.rows("11", "POST /v1/investors, new 1000-row batch", rawBatch1) {
			add(r)
		}
	}

	// 10: subscription batches, paired with their own lean raw per run.
	if c.wants("10") {
		var lean1, lean4, http1, http4, frac1, frac4 series
		var where budgetSplit
		if err := repeat(ctx, c, "subscription batches, lean raw SQL and HTTP", func() error {
			for _, clients := range []int{1, 4} {
				l, err := b.leanSubscriptions(ctx, clients)
				if err != nil {
					return err
				}
				h, err := b.httpSubscriptions(ctx, clients)
				if err != nil {
					return err
				}
				where.add(clients, l, h)
				if clients == 1 {
					lean1, http1, frac1 = append(lean1, l.rate), append(http1, h.rate), append(frac1, h.rate/l.rate)
				} else {
					lean4, http4, frac4 = append(lean4, l.rate), append(http4, h.rate), append(frac4, h.rate/l.rate)
				}
			}
			return nil
		}); err != nil {
			return "", err
		}
		add(row{"10", "lean raw subscriptions, 1000-row batches, 1 client (rows/s)", rate(lean1.median()), lean1.spread(rate), "the limit", ""})
		add(row{"10", "lean raw subscriptions, 1000-row batches, 4 clients (rows/s)", rate(lean4.median()), lean4.spread(rate), "the limit", ""})
		add(row{"10", "POST /v1/spvs/{spvSlug}/subscriptions, 1000-row batches, 1 client (rows/s)", rate(http1.median()), http1.spread(rate), "", ""})
		add(row{"10", "… as a fraction of lean raw, 1 client (per run)", ratio(frac1.median()), frac1.spread(ratio), "≥ 0.80", yes(frac1.median() >= 0.8)})
		add(row{"10", "POST /v1/spvs/{spvSlug}/subscriptions, 1000-row batches, 4 clients (rows/s)", rate(http4.median()), http4.spread(rate), "", ""})
		add(row{"10", "… as a fraction of lean raw, 4 clients (per run)", ratio(frac4.median()), frac4.spread(ratio), "≥ 0.80", yes(frac4.median() >= 0.8)})
		for _, r := range where.rows("10", "POST /v1/spvs/{spvSlug}/subscriptions, 1000-row batch", nil) {
			add(r)
		}
	}

	// 4: batch sizes.
	if c.wants("4") {
		sizes := []int{10, 100, 1000}
		perRow := map[int]series{}
		stmts := map[int]series{}
		if err := repeat(ctx, c, "batch sizes", func() error {
			for _, size := range sizes {
				r, st, err := b.batchScaling(ctx, size)
				if err != nil {
					return err
				}
				perRow[size] = append(perRow[size], 1e6/r)
				stmts[size] = append(stmts[size], st)
			}
			return nil
		}); err != nil {
			return "", err
		}
		falling := perRow[10].median() > perRow[100].median() && perRow[100].median() > perRow[1000].median()
		us := func(v float64) string { return fmt.Sprintf("%.0f µs", v) }
		for _, size := range sizes {
			met := ""
			if size == 1000 {
				met = yes(falling && stmts[1000].median() <= 6)
			}
			add(row{"4", fmt.Sprintf("%d-row batches: per-row cost (rows/s %.0f; %.0f SQL statements per request)", size, 1e6/perRow[size].median(), stmts[size].median()),
				us(perRow[size].median()), perRow[size].spread(us), "falls with size; a handful of statements", met})
		}
	}

	// 5: growth.
	if c.long && c.wants("5") {
		c.logf("growth: 1 M rows")
		early, late, err := b.growth(ctx)
		if err != nil {
			return "", err
		}
		g := late / early
		add(row{"5", "1 M-row import from 4 clients: first 100 k rows (rows/s)", rate(early), "single run", "", ""})
		add(row{"5", "… last 100 k rows (rows/s)", rate(late), "single run", "≥ 0.8 × first", yes(g >= 0.8) + fmt.Sprintf(" (%.2f)", g)})
	} else if c.wants("5") {
		add(row{"5", "1 M-row import, late vs early throughput", "not run", "", "run with -long", ""})
	}

	// 6: single rows from 16 clients.
	if c.wants("6") {
		var rps, p50, p99, failed series
		if err := repeat(ctx, c, "single rows", func() error {
			r, a, z, f, err := b.singleRows(ctx)
			rps, p50, p99, failed = append(rps, r), append(p50, msOf(a)), append(p99, msOf(z)), append(failed, float64(f))
			return err
		}); err != nil {
			return "", err
		}
		tail := p99.median() / p50.median()
		add(row{"6", "single-row creates, 16 clients (requests/s)", rate(rps.median()), rps.spread(rate), "", ""})
		add(row{"6", "… p50 latency", ms(p50.median()), p50.spread(ms), "", ""})
		add(row{"6", fmt.Sprintf("… p99 latency (%.1f × p50; %.0f errors)", tail, slices.Max(failed)), ms(p99.median()), p99.spread(ms), "≤ 5 × p50, no errors", yes(tail <= 5 && slices.Max(failed) == 0)})
	}

	// 7: Idempotency-Key replay.
	if c.wants("7") {
		var orig, replay series
		if err := repeat(ctx, c, "idempotency", func() error {
			o, r, err := b.idempotency(ctx)
			orig, replay = append(orig, msOf(o)), append(replay, msOf(r))
			return err
		}); err != nil {
			return "", err
		}
		ir := replay.median() / orig.median()
		add(row{"7", "single-row create with a new Idempotency-Key, p50", ms(orig.median()), orig.spread(ms), "", ""})
		add(row{"7", fmt.Sprintf("… its replay, p50 (%.2f of the original)", ir), ms(replay.median()), replay.spread(ms), "≤ 0.20 × original", yes(ir <= 0.2)})
	}

	// 8: webhooks.
	if c.wants("8") {
		var dps, lag50, lag99 series
		if err := repeat(ctx, c, "webhooks", func() error {
			d, err := b.deliveries(ctx, 10000)
			if err != nil {
				return err
			}
			a, z, err := b.outboxLag(ctx)
			dps, lag50, lag99 = append(dps, d), append(lag50, msOf(a)), append(lag99, msOf(z))
			return err
		}); err != nil {
			return "", err
		}
		add(row{"8", "webhook deliveries to a local receiver, one worker (deliveries/s)", rate(dps.median()), dps.spread(rate), "≥ 1000", yes(dps.median() >= 1000)})
		add(row{"8", "outbox lag while importing 5000 rows/s, p50", ms(lag50.median()), lag50.spread(ms), "", ""})
		add(row{"8", "… p99", ms(lag99.median()), lag99.spread(ms), "< 1 s", yes(lag99.median() < 1000)})
	}

	// 9: memory.
	if c.wants("9") {
		mb := func(v float64) string { return fmt.Sprintf("%.0f MB", v) }
		add(row{"9", "server peak RSS during the 1- and 4-client imports", mb(slices.Max(rss)), rss.spread(mb), "< 150 MB", yes(slices.Max(rss) < 150)})
	}

	return format(ctx, b, rows), nil
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func format(ctx context.Context, b *bench, rows []row) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Measured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(ctx, b.admin))
	fmt.Fprintf(&sb, "Median of %d runs of %d rows each (spread: min – max).\n\n", b.c.runs, b.c.rows)
	sb.WriteString("| # | Figure | Median | Spread | Target | Met |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s |\n", r.n, r.figure, r.value, r.spread, r.target, r.met)
	}
	return sb.String()
}

// machine describes the hardware and the PostgreSQL settings that matter.
func machine(ctx context.Context, admin *pgxpool.Pool) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	pg := "PostgreSQL"
	var version string
	if admin.QueryRow(ctx, "SHOW server_version").Scan(&version) == nil {
		pg += " " + strings.Fields(version)[0]
	}
	var settings []string
	for _, name := range []string{"synchronous_commit", "fsync", "shared_buffers", "wal_level", "max_wal_size"} {
		var v string
		if admin.QueryRow(ctx, "SHOW "+name).Scan(&v) == nil {
			settings = append(settings, name+"="+v)
		}
	}
	return fmt.Sprintf("%s (%d cores%s, Go %s), %s on the same machine (%s)", cpu, runtime.NumCPU(), mem,
		strings.TrimPrefix(runtime.Version(), "go"), pg, strings.Join(settings, ", "))
}
