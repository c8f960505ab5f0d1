package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/store"
)

// bench holds what every measurement shares.
type bench struct {
	c     config
	admin *pgxpool.Pool
	http  *http.Client
	files string // the servers' ZEST_BLOB_URL: a temporary directory, not the working directory
}

// schema is a fresh, migrated PostgreSQL schema.
type schema struct {
	url  string
	pool *pgxpool.Pool // for the raw writes and checks
	drop func()
}

func (b *bench) newSchema(ctx context.Context) (*schema, error) {
	s, err := b.emptySchema(ctx)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, s.url, store.Options{})
	if err != nil {
		s.drop()
		return nil, err
	}
	_, err = st.Migrate(ctx)
	st.Close()
	if err != nil {
		s.drop()
		return nil, err
	}
	return s, nil
}

// emptySchema is a fresh PostgreSQL schema without a table.
func (b *bench) emptySchema(ctx context.Context) (*schema, error) {
	name := "bench_" + ids.Random(6)
	if _, err := b.admin.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(b.c.db)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	s := &schema{url: u.String()}
	s.drop = func() {
		if s.pool != nil {
			s.pool.Close()
		}
		b.admin.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE")
	}
	if s.pool, err = pgxpool.New(ctx, s.url); err != nil {
		s.drop()
		return nil, err
	}
	return s, nil
}

// proc is a running zest-api process.
type proc struct {
	cmd     *exec.Cmd
	addr    string
	mu      sync.Mutex
	batches []batchLog // each batch request's log line, in order
	done    chan struct{}
}

// start runs `zest-api args...` on the schema and waits for its ready line.
func (b *bench) start(ctx context.Context, s *schema, ready string, env []string, args ...string) (*proc, error) {
	bin, err := filepath.Abs(b.c.bin)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// The per-tenant limits protect tenants from each other; the bench is one
	// tenant measuring the import path itself, so they are off.
	cmd.Env = append(append(os.Environ(), "DATABASE_URL="+s.url, "ZEST_BLOB_URL="+b.files, "ZEST_ADDR=127.0.0.1:0", "ZEST_AUTO_MIGRATE=false",
		"ZEST_RATE_LIMIT=0", "ZEST_MAX_CONCURRENT_IMPORTS=0"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (run make build first): %w", bin, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	up := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg, Addr, Route, Method string
				SQLStatements            *int    `json:"sql_statements"`
				LatencyMs                float64 `json:"latency_ms"`
				SQLMs                    float64 `json:"sql_ms"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch {
			case line.Msg == ready:
				up <- line.Addr
			case line.Msg == "request" && line.Method == http.MethodPost && batchRoutes[line.Route] && line.SQLStatements != nil:
				p.mu.Lock()
				p.batches = append(p.batches, batchLog{statements: *line.SQLStatements, latencyMs: line.LatencyMs, sqlMs: line.SQLMs})
				p.mu.Unlock()
			}
		}
	}()
	select {
	case p.addr = <-up:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s %s exited before it was ready", bin, strings.Join(args, " "))
	case <-time.After(20 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s %s did not get ready", bin, strings.Join(args, " "))
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
	}
	p.cmd.Wait()
}

// batchRoutes are the routes of the batch requests whose log lines a proc
// keeps: the import and the subscription batches.
var batchRoutes = map[string]bool{"/v1/investors": true, "/v1/spvs/:spvSlug/subscriptions": true}

// batchLog is what the server logged of one batch request.
type batchLog struct {
	statements       int
	latencyMs, sqlMs float64 // sqlMs: the part of latencyMs in SQL statements
}

// batchLogs returns the batch requests logged since the last call. The
// server logs a request after answering it, so it waits a moment for the
// last one first.
func (p *proc) batchLogs() []batchLog {
	time.Sleep(100 * time.Millisecond)
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.batches
	p.batches = nil
	return out
}

// peakRSS returns the process's peak resident memory.
func (p *proc) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", p.cmd.Process.Pid)
}

// server is a serving zest-api with a tenant.
type server struct {
	*proc
	base  string
	token string
}

func (b *bench) server(ctx context.Context, s *schema, env ...string) (*server, error) {
	token, err := b.cli(s, "tenants", "create", "bench")
	if err != nil {
		return nil, err
	}
	p, err := b.start(ctx, s, "serving", env, "serve")
	if err != nil {
		return nil, err
	}
	return &server{proc: p, base: "http://" + p.addr, token: strings.TrimSpace(token)}, nil
}

func (b *bench) cli(s *schema, args ...string) (string, error) {
	cmd := exec.Command(b.c.bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+s.url, "ZEST_BLOB_URL="+b.files)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("zest-api %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// post sends a JSON body and returns the status and latency.
func (b *bench) post(ctx context.Context, srv *server, path string, body []byte, key string) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+srv.token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	start := time.Now()
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), err
}
