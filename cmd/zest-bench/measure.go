package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/webhooks"
)

// rowJSON is one valid import row.
func rowJSON(pid string) string {
	return `{"partnerInvestorId":"` + pid + `","email":"` + pid + `@bench.example","firstName":"Bench","lastName":"Investor","dateOfBirth":"1985-04-12","countryOfResidence":"AE"}`
}

// bodies returns n rows named prefix-N as request bodies of size rows each.
func bodies(prefix string, n, size int) [][]byte {
	var out [][]byte
	for start := 0; start < n; start += size {
		var sb strings.Builder
		sb.WriteString(`{"investors":[`)
		for i := start; i < min(start+size, n); i++ {
			if i > start {
				sb.WriteByte(',')
			}
			sb.WriteString(rowJSON(fmt.Sprintf("%s-%07d", prefix, i)))
		}
		sb.WriteString(`]}`)
		out = append(out, []byte(sb.String()))
	}
	return out
}

// split deals bodies to clients round-robin.
func split(all [][]byte, clients int) [][][]byte {
	out := make([][][]byte, clients)
	for i, b := range all {
		out[i%clients] = append(out[i%clients], b)
	}
	return out
}

// drive sends each client's bodies in order, clients in parallel, and
// returns the elapsed time and the latency of every request.
func (b *bench) drive(ctx context.Context, srv *server, perClient [][][]byte, key func(client, i int) string) (time.Duration, []time.Duration, error) {
	return b.driveTo(ctx, srv, "/v1/investors", http.StatusOK, perClient, key)
}

// driveTo is drive for any batch endpoint answering want.
func (b *bench) driveTo(ctx context.Context, srv *server, path string, want int, perClient [][][]byte, key func(client, i int) string) (time.Duration, []time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for c, bodies := range perClient {
		wg.Go(func() {
			for i, body := range bodies {
				k := ""
				if key != nil {
					k = key(c, i)
				}
				status, d, err := b.post(ctx, srv, path, body, k)
				if err == nil && status != want {
					err = fmt.Errorf("POST %s answered %d", path, status)
				}
				mu.Lock()
				lat = append(lat, d)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), lat, firstErr
}

// fresh starts a server, with env, on a fresh schema; done stops both.
func (b *bench) fresh(ctx context.Context, env ...string) (*schema, *server, func(), error) {
	s, err := b.newSchema(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	srv, err := b.server(ctx, s, env...)
	if err != nil {
		s.drop()
		return nil, nil, nil, err
	}
	return s, srv, func() { srv.stop(); s.drop() }, nil
}

// baseline writes the rows without the server, on a schema of its own.
type baseline struct {
	schema func(context.Context) (*schema, error)
	batch  func(ctx context.Context, pool *pgxpool.Pool, prefix string, first, n int) error
}

// project is the server's write path on the project's own schema.
func (b *bench) project() baseline {
	return baseline{
		schema: func(ctx context.Context) (*schema, error) {
			s, err := b.newSchema(ctx)
			if err != nil {
				return nil, err
			}
			if _, err := s.pool.Exec(ctx, `INSERT INTO tenants (client_id, name, status, created_at, updated_at) VALUES ('bench', 'bench', 'active', now(), now())`); err != nil {
				s.drop()
				return nil, err
			}
			return s, nil
		},
		batch: rawBatch,
	}
}

// leanDDL is the least schema that keeps the import's promises: a
// partnerInvestorId and an email (case-insensitively) name one person per
// tenant, a person has one User, and every created investor has one outbox
// event. docs/performance.md says what each further index and constraint of
// the real schema pays for.
const leanDDL = `
CREATE TABLE people (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    zest_person_id       text NOT NULL,
    client_id            text NOT NULL,
    partner_investor_id  text NOT NULL,
    email                text NOT NULL,
    first_name           text NOT NULL,
    last_name            text NOT NULL,
    date_of_birth        date NOT NULL,
    country_of_residence text,
    created_at           timestamptz NOT NULL,
    UNIQUE (client_id, partner_investor_id)
);
CREATE UNIQUE INDEX people_client_email_key ON people (client_id, lower(email));
CREATE TABLE users (
    person_id  bigint PRIMARY KEY,
    email      text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE events (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id  bigint NOT NULL,
    payload    text NOT NULL,
    created_at timestamptz NOT NULL
);`

// lean is the same write path on leanDDL, in the same two statements, so
// that the difference from project is the schema's alone.
func (b *bench) lean() baseline {
	return baseline{
		schema: func(ctx context.Context) (*schema, error) {
			s, err := b.emptySchema(ctx)
			if err != nil {
				return nil, err
			}
			if _, err := s.pool.Exec(ctx, leanDDL); err != nil {
				s.drop()
				return nil, fmt.Errorf("lean schema: %w", err)
			}
			return s, nil
		},
		batch: leanBatch,
	}
}

// rawRun is a run of raw batches: rows/s, and the CPU time a 1000-row
// batch cost PostgreSQL and the writer (pgx, building the rows).
type rawRun struct {
	rate             float64
	dbCPU, clientCPU time.Duration
	dbCPUKnown       bool
}

// rawThroughput writes the rows the server would write (people, users, one
// outbox event each) with plain pgx set-based SQL, from clients connections.
func (b *bench) rawThroughput(ctx context.Context, clients int, bl baseline) (rawRun, error) {
	s, err := bl.schema(ctx)
	if err != nil {
		return rawRun{}, err
	}
	defer s.drop()
	return measureRaw(b.c.rows, clients, func(first, n int) error { return bl.batch(ctx, s.pool, "raw", first, n) })
}

// measureRaw runs inParallel and measures the CPU its batches cost.
func measureRaw(rows, clients int, batch func(first, n int) error) (rawRun, error) {
	var r rawRun
	db, self := processCPU(nil, "postgres"), selfCPU()
	var err error
	r.rate, err = inParallel(rows, clients, batch)
	r.clientCPU = perBatch(selfCPU()-self, rows)
	r.dbCPU, r.dbCPUKnown = processCPU(nil, "postgres").since(db)
	r.dbCPU = perBatch(r.dbCPU, rows)
	return r, err
}

// inParallel writes rows in 1000-row batches, dealt round-robin to clients
// workers, and returns rows/s; batch writes n rows from the first.
func inParallel(rows, clients int, batch func(first, n int) error) (float64, error) {
	per := make([][]int, clients)
	for i := 0; i < rows; i += 1000 {
		per[(i/1000)%clients] = append(per[(i/1000)%clients], i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for _, first := range per[c] {
				if err := batch(first, min(1000, rows-first)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(rows) / elapsed.Seconds(), nil
}

// benchRows are the rows of one raw batch: the people's keys and their
// events' payloads, as the server would build them.
type benchRows struct {
	zid, pid, email, payload []string
	now                      time.Time
}

func newBenchRows(prefix string, first, n int) (benchRows, error) {
	r := benchRows{zid: make([]string, n), pid: make([]string, n), email: make([]string, n), payload: make([]string, n), now: time.Now().UTC()}
	for i := range n {
		r.pid[i] = fmt.Sprintf("%s-%07d", prefix, first+i)
		r.zid[i] = ids.Sorted("psn_")
		r.email[i] = r.pid[i] + "@bench.example"
		ev, err := webhooks.InvestorCreated("bench", 0, r.pid[i], r.zid[i], r.now)
		if err != nil {
			return r, err
		}
		r.payload[i] = ev.Payload
	}
	return r, nil
}

// insertPeople runs a people INSERT taking ($1 zids, $2 partnerInvestorIds,
// $3 emails, $4 now) and returning (id, zest_person_id), and returns the
// ids in the rows' order.
func (r benchRows) insertPeople(ctx context.Context, pool *pgxpool.Pool, insert string) ([]int64, error) {
	rows, err := pool.Query(ctx, insert, r.zid, r.pid, r.email, r.now)
	if err != nil {
		return nil, err
	}
	byZID := map[string]int64{}
	for rows.Next() {
		var id int64
		var z string
		if err := rows.Scan(&id, &z); err != nil {
			return nil, err
		}
		byZID[z] = id
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	person := make([]int64, len(r.zid))
	for i, z := range r.zid {
		person[i] = byZID[z]
	}
	return person, nil
}

// rawBatch is the server's write path without the server: the people in
// one statement, then their users and events in one more.
func rawBatch(ctx context.Context, pool *pgxpool.Pool, prefix string, first, n int) error {
	r, err := newBenchRows(prefix, first, n)
	if err != nil {
		return err
	}
	phone, evID := make([]string, n), make([]string, n)
	for i := range n {
		phone[i] = investors.PlaceholderPhone(r.zid[i])
		evID[i] = ids.Sorted("evt_")
	}
	person, err := r.insertPeople(ctx, pool, `
		INSERT INTO people (zest_person_id, client_id, partner_investor_id, email, email_normalized,
			first_name, last_name, date_of_birth, country_of_residence, kyc_managed_by, kyc_flags, created_at)
		SELECT r.zid, 'bench', r.pid, r.email, r.email, 'Bench', 'Investor', '1985-04-12', 'AE', 'partner', '[]', $4
		FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS r(zid, pid, email, ord)
		ORDER BY r.ord
		ON CONFLICT DO NOTHING
		RETURNING id, zest_person_id`)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `
		WITH u AS (
			INSERT INTO users (person_id, client_id, email, email_is_verified, otp_method, phone, created_at)
			SELECT r.person, 'bench', r.email, true, 'email', r.phone, $6
			FROM unnest($1::bigint[], $2::text[], $3::text[]) AS r(person, email, phone)
			ON CONFLICT (person_id) DO NOTHING
			RETURNING person_id
		)
		INSERT INTO events (event_id, client_id, type, person_id, payload, created_at)
		SELECT e.id, 'bench', 'investor.created', e.person, e.payload, $6
		FROM unnest($1::bigint[], $4::text[], $5::text[]) AS e(person, id, payload) JOIN u ON u.person_id = e.person`,
		person, r.email, phone, evID, r.payload, r.now)
	return err
}

// leanBatch is rawBatch on leanDDL: the people in one statement, their
// users and events in one more.
func leanBatch(ctx context.Context, pool *pgxpool.Pool, prefix string, first, n int) error {
	r, err := newBenchRows(prefix, first, n)
	if err != nil {
		return err
	}
	person, err := r.insertPeople(ctx, pool, `
		INSERT INTO people (zest_person_id, client_id, partner_investor_id, email,
			first_name, last_name, date_of_birth, country_of_residence, created_at)
		SELECT r.zid, 'bench', r.pid, r.email, 'Bench', 'Investor', '1985-04-12', 'AE', $4
		FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS r(zid, pid, email, ord)
		ORDER BY r.ord
		ON CONFLICT DO NOTHING
		RETURNING id, zest_person_id`)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `
		WITH u AS (
			INSERT INTO users (person_id, email, created_at)
			SELECT r.person, r.email, $4
			FROM unnest($1::bigint[], $2::text[]) AS r(person, email)
			ON CONFLICT (person_id) DO NOTHING
			RETURNING person_id
		)
		INSERT INTO events (person_id, payload, created_at)
		SELECT e.person, e.payload, $4
		FROM unnest($1::bigint[], $3::text[]) AS e(person, payload) JOIN u ON u.person_id = e.person`,
		person, r.email, r.payload, r.now)
	return err
}

// batchRun is a run of new 1000-row batches through the server: rows/s
// and where their time went, the median latency the server logged and the
// part of it in SQL statements, and the CPU time a batch cost the server
// and PostgreSQL.
type batchRun struct {
	rate             float64
	latencyMs, sqlMs float64
	serverCPU, dbCPU time.Duration
	dbCPUKnown       bool
}

// measureBatches sends each client's 1000-row batches, rows in all, to
// path on srv, and measures them.
func (b *bench) measureBatches(ctx context.Context, srv *server, path string, want int, perClient [][][]byte, rows int) (batchRun, error) {
	var r batchRun
	srv.batchLogs() // only this run's
	pid := srv.cmd.Process.Pid
	server, db := processCPU([]int{pid}), processCPU(nil, "postgres")
	elapsed, _, err := b.driveTo(ctx, srv, path, want, perClient, nil)
	if err != nil {
		return r, err
	}
	r.rate = float64(rows) / elapsed.Seconds()
	r.serverCPU, _ = processCPU([]int{pid}).since(server)
	r.dbCPU, r.dbCPUKnown = processCPU(nil, "postgres").since(db)
	r.serverCPU, r.dbCPU = perBatch(r.serverCPU, rows), perBatch(r.dbCPU, rows)
	var latency, sql series
	for _, l := range srv.batchLogs() {
		latency, sql = append(latency, l.latencyMs), append(sql, l.sqlMs)
	}
	r.latencyMs, r.sqlMs = latency.median(), sql.median()
	return r, nil
}

// importRun measures new and replayed 1000-row batches through the server
// from clients clients, and the server's peak memory.
type importRun struct {
	batchRun   // the new batches
	replayRate float64
	rss        int64
}

func (b *bench) httpThroughput(ctx context.Context, clients int) (importRun, error) {
	var r importRun
	_, srv, done, err := b.fresh(ctx, "ZEST_DISPATCHER=false")
	if err != nil {
		return r, err
	}
	defer done()
	per := split(bodies("http", b.c.rows, 1000), clients)
	if r.batchRun, err = b.measureBatches(ctx, srv, "/v1/investors", http.StatusOK, per, b.c.rows); err != nil {
		return r, err
	}
	elapsed, _, err := b.drive(ctx, srv, per, nil)
	if err != nil {
		return r, err
	}
	r.replayRate = float64(b.c.rows) / elapsed.Seconds()
	r.rss, err = srv.peakRSS()
	return r, err
}

// batchScaling measures rows/s at one batch size, and the SQL statements the
// server logged per request.
func (b *bench) batchScaling(ctx context.Context, size int) (float64, float64, error) {
	_, srv, done, err := b.fresh(ctx, "ZEST_DISPATCHER=false")
	if err != nil {
		return 0, 0, err
	}
	defer done()
	n := min(b.c.rows, size*300)
	elapsed, _, err := b.drive(ctx, srv, [][][]byte{bodies("size", n, size)}, nil)
	if err != nil {
		return 0, 0, err
	}
	var stmts series
	for _, l := range srv.batchLogs() {
		stmts = append(stmts, float64(l.statements))
	}
	return float64(n) / elapsed.Seconds(), stmts.median(), nil
}

// singleRows sends single-row creates from 16 clients and returns
// requests/s, p50, p99 and the number of failed requests.
func (b *bench) singleRows(ctx context.Context) (float64, time.Duration, time.Duration, int, error) {
	_, srv, done, err := b.fresh(ctx, "ZEST_DISPATCHER=false")
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer done()
	const clients, each = 16, 150
	per := split(bodies("single", clients*each, 1), clients)
	var failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for _, mine := range per {
		wg.Go(func() {
			for _, body := range mine {
				status, d, err := b.post(ctx, srv, "/v1/investors", body, "")
				if err != nil || status != http.StatusOK {
					failed.Add(1)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	return float64(len(lat)) / elapsed.Seconds(), quantile(lat, 0.5), quantile(lat, 0.99), int(failed.Load()), nil
}

// idempotency returns the p50 of single-row creates with a new key and of
// their replays.
func (b *bench) idempotency(ctx context.Context) (time.Duration, time.Duration, error) {
	_, srv, done, err := b.fresh(ctx, "ZEST_DISPATCHER=false")
	if err != nil {
		return 0, 0, err
	}
	defer done()
	all := bodies("idem", 300, 1)
	key := func(_, i int) string { return "bench-key-" + strconv.Itoa(i) }
	_, orig, err := b.drive(ctx, srv, [][][]byte{all}, key)
	if err != nil {
		return 0, 0, err
	}
	_, replay, err := b.drive(ctx, srv, [][][]byte{all}, key)
	if err != nil {
		return 0, 0, err
	}
	return quantile(orig, 0.5), quantile(replay, 0.5), nil
}

// receiver is a local webhook endpoint.
type receiver struct {
	url      string
	received atomic.Int64
	mu       sync.Mutex
	lags     []time.Duration
	close    func()
}

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/hooks"}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Timestamp time.Time `json:"timestamp"`
		}
		json.NewDecoder(req.Body).Decode(&body)
		lag := time.Since(body.Timestamp)
		r.mu.Lock()
		r.lags = append(r.lags, lag)
		r.mu.Unlock()
		r.received.Add(1)
	})}
	go srv.Serve(ln)
	r.close = func() { srv.Close() }
	return r, nil
}

func (b *bench) endpoint(ctx context.Context, srv *server, url string) error {
	status, _, err := b.post(ctx, srv, "/v1/webhook-endpoints", []byte(`{"url":"`+url+`"}`), "")
	if err == nil && status != http.StatusCreated {
		err = fmt.Errorf("create webhook endpoint answered %d", status)
	}
	return err
}

func (r *receiver) wait(ctx context.Context, n int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for r.received.Load() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d webhooks arrived within %s", r.received.Load(), n, timeout)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// deliveries measures how fast a worker drains a backlog of events.
func (b *bench) deliveries(ctx context.Context, n int) (float64, error) {
	s, srv, done, err := b.fresh(ctx, "ZEST_DISPATCHER=false", "ZEST_WEBHOOK_ALLOW_PRIVATE=true")
	if err != nil {
		return 0, err
	}
	defer done()
	rcv, err := newReceiver()
	if err != nil {
		return 0, err
	}
	defer rcv.close()
	if err := b.endpoint(ctx, srv, rcv.url); err != nil {
		return 0, err
	}
	if _, _, err := b.drive(ctx, srv, [][][]byte{bodies("hook", n, 1000)}, nil); err != nil {
		return 0, err
	}
	w, err := b.start(ctx, s, "dispatching webhooks", []string{"ZEST_WEBHOOK_ALLOW_PRIVATE=true"}, "worker")
	if err != nil {
		return 0, err
	}
	defer w.stop()
	start := time.Now()
	if err := rcv.wait(ctx, int64(n), time.Minute); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// outboxLag imports 1000-row batches at 5000 rows/s with the dispatcher of
// serve running, and returns the p50 and p99 of the time from an event being
// recorded to its arrival.
func (b *bench) outboxLag(ctx context.Context) (time.Duration, time.Duration, error) {
	_, srv, done, err := b.fresh(ctx, "ZEST_WEBHOOK_ALLOW_PRIVATE=true")
	if err != nil {
		return 0, 0, err
	}
	defer done()
	rcv, err := newReceiver()
	if err != nil {
		return 0, 0, err
	}
	defer rcv.close()
	if err := b.endpoint(ctx, srv, rcv.url); err != nil {
		return 0, 0, err
	}
	const batches = 25 // 5 s at 5000 rows/s
	all := bodies("lag", batches*1000, 1000)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for _, body := range all {
		<-tick.C
		if status, _, err := b.post(ctx, srv, "/v1/investors", body, ""); err != nil || status != http.StatusOK {
			return 0, 0, fmt.Errorf("import during the lag run: %d %v", status, err)
		}
	}
	if err := rcv.wait(ctx, batches*1000, time.Minute); err != nil {
		return 0, 0, err
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return quantile(rcv.lags, 0.5), quantile(rcv.lags, 0.99), nil
}

// growth imports 1 M rows from 4 clients and returns the throughput of the
// first and of the last 100 k rows.
func (b *bench) growth(ctx context.Context) (float64, float64, error) {
	_, srv, done, err := b.fresh(ctx, "ZEST_DISPATCHER=false")
	if err != nil {
		return 0, 0, err
	}
	defer done()
	const total, window = 1_000_000, 100_000
	var mu sync.Mutex
	var marks []time.Time // when each 1000 rows completed
	per := split(bodies("grow", total, 1000), 4)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, mine := range per {
		wg.Go(func() {
			for _, body := range mine {
				status, _, err := b.post(ctx, srv, "/v1/investors", body, "")
				if err != nil || status != http.StatusOK {
					errs <- fmt.Errorf("growth import: %d %v", status, err)
					return
				}
				mu.Lock()
				marks = append(marks, time.Now())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	slices.SortFunc(marks, func(a, b time.Time) int { return a.Compare(b) })
	w := window / 1000
	early := float64(window) / marks[w-1].Sub(start).Seconds()
	late := float64(window) / marks[len(marks)-1].Sub(marks[len(marks)-1-w]).Seconds()
	return early, late, nil
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}
