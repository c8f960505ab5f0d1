package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/tenants"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/models"
)

// binary is the command the tests run as a process of their own, for its
// exit codes, output and signals: this test binary, which runs main when
// asRealCommand is in its environment. Linking a separate zest-api with go
// build took longer than all of these tests.
var binary string

const asRealCommand = "ZEST_API_TEST_RUN_MAIN=1"

func TestMain(m *testing.M) {
	if slices.Contains(os.Environ(), asRealCommand) {
		main()
		os.Exit(0)
	}
	var err error
	if binary, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

var tokenLine = regexp.MustCompile(`^zest_[a-z2-7]{16}_[a-z2-7]{52}\n$`)

// cli runs the binary with the database and extra environment.
func cli(t *testing.T, dbURL string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(append(os.Environ(), asRealCommand, "DATABASE_URL="+dbURL), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestOperatorCommands(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		db := testkit.URL(t, d)
		run := func(args ...string) (string, string, int) { return cli(t, db, nil, args...) }

		if out, errs, code := run("migrate"); code != 0 || !strings.Contains(out, "applied 0001_init") {
			t.Fatalf("migrate: %d %q %q", code, out, errs)
		}
		if out, _, code := run("migrate"); code != 0 || out != "schema is up to date\n" {
			t.Errorf("second migrate: %d %q", code, out)
		}

		token, errs, code := run("tenants", "create", "acme", "--name", "Acme Capital")
		if code != 0 || !tokenLine.MatchString(token) {
			t.Fatalf("tenants create: %d %q %q", code, token, errs)
		}
		if _, errs, code := run("tenants", "create", "acme"); code != 1 || !strings.Contains(errs, "already exists") {
			t.Errorf("duplicate tenant: %d %q", code, errs)
		}
		second, _, code := run("tokens", "create", "acme")
		if code != 0 || !tokenLine.MatchString(second) || second == token {
			t.Errorf("tokens create: %d %q", code, second)
		}
		list, _, code := run("tokens", "list", "acme")
		ids := regexp.MustCompile(`tok_[a-z2-7]{16}`).FindAllString(list, -1)
		if code != 0 || len(ids) != 2 {
			t.Fatalf("tokens list: %d %q", code, list)
		}
		for _, tok := range []string{token, second} {
			secret := strings.TrimSpace(tok)[len("zest_")+17:]
			if strings.Contains(list, secret) {
				t.Errorf("tokens list shows a secret: %q", list)
			}
		}
		if out, _, code := run("tokens", "revoke", ids[0]); code != 0 || !strings.Contains(out, "revoked") {
			t.Errorf("revoke: %d %q", code, out)
		}
		list, _, _ = run("tokens", "list", "acme")
		for _, line := range strings.Split(strings.TrimSpace(list), "\n")[1:] {
			cols := strings.Fields(line)
			revoked := cols[len(cols)-1] != "-"
			if len(cols) != 4 || revoked != (cols[0] == ids[0]) {
				t.Errorf("tokens list after revoking %s: %q", ids[0], list)
			}
		}
		for _, sub := range []string{"suspend", "provision"} {
			if out, _, code := run("tenants", sub, "acme"); code != 0 || !strings.Contains(out, sub) {
				t.Errorf("tenants %s: %d %q", sub, code, out)
			}
		}
		if out, _, code := run("tenants", "create", "newco", "--unprovisioned"); code != 0 || !tokenLine.MatchString(out) {
			t.Errorf("unprovisioned create: %d %q", code, out)
		}
		if _, errs, code := run("tenants", "suspend", "nobody"); code != 1 || !strings.Contains(errs, "no tenant nobody") {
			t.Errorf("suspend unknown: %d %q", code, errs)
		}
		if _, errs, code := run("tokens", "revoke", "tok_nope"); code != 1 || !strings.Contains(errs, "no token") {
			t.Errorf("revoke unknown: %d %q", code, errs)
		}
		if _, errs, code := run("frobnicate"); code != 2 || !strings.Contains(errs, "Usage:") {
			t.Errorf("unknown command: %d %q", code, errs)
		}
		if _, errs, code := run("tenants", "create"); code != 2 || !strings.Contains(errs, "argument") {
			t.Errorf("missing argument: %d %q", code, errs)
		}
	})
}

func TestInvalidConfigurationStopsStartup(t *testing.T) {
	t.Parallel()
	_, errs, code := cli(t, "sqlite:x.db", []string{"ZEST_MAX_BATCH_ROWS=0", "ZEST_LOG_LEVEL=loud"}, "serve")
	if code != 1 || !strings.Contains(errs, "ZEST_MAX_BATCH_ROWS") || !strings.Contains(errs, "ZEST_LOG_LEVEL") {
		t.Errorf("%d %q", code, errs)
	}
	_, errs, code = cli(t, "mysql://nope", nil, "migrate")
	if code != 1 || !strings.Contains(errs, "DATABASE_URL") {
		t.Errorf("%d %q", code, errs)
	}
}

// server is a running `zest-api serve`.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stdout *testkit.SyncBuffer
	done   chan error
	// dispatcher is what the ready line says of the process's dispatcher.
	dispatcher bool
}

// waitOutput waits until stdout contains want, and returns stdout.
func (s *server) waitOutput(t *testing.T, want string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if out := s.stdout.String(); strings.Contains(out, want) {
			return out
		}
	}
	t.Fatalf("stdout never contained %q: %q", want, s.stdout.String())
	return ""
}

func startServer(t *testing.T, dir, dbURL string, args ...string) *server {
	t.Helper()
	return startProcess(t, dir, dbURL, nil, "serving", append([]string{"serve"}, args...)...)
}

// startProcess runs the binary and waits for its log line ready.
func startProcess(t *testing.T, dir, dbURL string, env []string, ready string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), asRealCommand, "DATABASE_URL="+dbURL, "ZEST_ADDR=127.0.0.1:0"), env...)
	stdout := &testkit.SyncBuffer{}
	cmd.Stdout = stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stdout: stdout, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct {
				Msg, Addr  string
				Dispatcher bool
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == ready {
				s.dispatcher = line.Dispatcher
				addr <- line.Addr
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case s.addr = <-addr:
	case err := <-s.done:
		t.Fatalf("server exited: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("server did not start")
	}
	return s
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("server exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}
}

const batch = `{"investors":[{"partnerInvestorId":"acme-inv-7341","email":"alice@example.com","firstName":"Alice","lastName":"Liddell","dateOfBirth":"1985-04-12","countryOfResidence":"AE"}]}`

// curlBody returns the -d '…' argument of the first curl command in text.
func curlBody(t *testing.T, text string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)curl -s \S+/v1/investors.*?-d '(\{.*?\})'`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no curl command with a body in %q", text)
	}
	return m[1]
}

// readmeWalkthrough returns the README's Walkthrough section.
func readmeWalkthrough(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Walkthrough\n")
	if !ok {
		t.Fatal("README.md has no Walkthrough section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return reflect.DeepEqual(va, vb)
}

// make run's first start creates the demo tenant and prints a working curl
// command; later starts print no token but a working command that makes
// one; every start prints where the reference is.
func TestDemoTenant(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "zest.db")
	s := startServer(t, dir, db, "--demo")
	out := s.waitOutput(t, "curl")
	token := regexp.MustCompile(`zest_[a-z2-7]{16}_[a-z2-7]{52}`).FindString(out)
	if token == "" || !strings.Contains(out, "curl -s http://"+s.addr+"/v1/investors") || !strings.Contains(out, "http://"+s.addr+"/docs") {
		t.Fatalf("demo output: %q", out)
	}
	// The README's walkthrough starts with the command printed here, and
	// says so: a reader who pasted one has sent the other.
	printed, walkthrough := curlBody(t, out), curlBody(t, readmeWalkthrough(t))
	if !jsonEqual(t, printed, walkthrough) {
		t.Errorf("the printed curl sends %s, the README walkthrough's first command %s", printed, walkthrough)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/v1/investors", strings.NewReader(batch))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"created"`) {
		t.Errorf("demo import: %d %s", resp.StatusCode, body)
	}
	s.stop(t)

	again := startServer(t, dir, db, "--demo")
	again.stop(t) // all output is in once the process has exited
	out = again.stdout.String()
	if strings.Contains(out, "zest_") || !strings.Contains(out, "http://"+again.addr+"/docs") {
		t.Errorf("second start: %q", out)
	}
	hint := regexp.MustCompile(`DATABASE_URL=(\S+) (\S+) (tokens create demo)\n`).FindStringSubmatch(out)
	if hint == nil {
		t.Fatalf("second start says nothing of how to get a token: %q", out)
	}
	cmd := exec.Command(hint[2], strings.Fields(hint[3])...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), asRealCommand, "DATABASE_URL="+hint[1])
	if newToken, err := cmd.Output(); err != nil || !tokenLine.Match(newToken) {
		t.Errorf("the hint's command: %v %q", err, newToken)
	}
}

// Never on PostgreSQL: a production database gets tenants from the CLI only.
func TestDemoRefusedOnPostgres(t *testing.T) {
	t.Parallel()
	db := testkit.PostgresURL(t)
	s := startServer(t, t.TempDir(), db, "--demo")
	s.stop(t)
	if out := s.stdout.String(); strings.Contains(out, "zest_") || !strings.Contains(out, "only on the embedded database") {
		t.Errorf("demo on PostgreSQL: %q", out)
	}
	if out, _, _ := cli(t, db, nil, "tokens", "list", "demo"); strings.Contains(out, "tok_") {
		t.Errorf("a demo tenant exists on PostgreSQL")
	}
}

// SIGTERM stops accepting connections, lets the request in flight finish,
// and exits 0.
//
// Not parallel: its pauses of 200ms must outlast signal handling, which a
// loaded machine could delay.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "zest.db")
	token, _, code := cli(t, db, nil, "tenants", "create", "acme")
	if code != 0 {
		t.Fatal("create tenant")
	}
	s := startServer(t, dir, db)

	// The request is in flight: its headers and half its body are sent.
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+s.addr+"/v1/investors", pr)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	half := len(batch) / 2
	pw.Write([]byte(batch[:half]))
	time.Sleep(200 * time.Millisecond)

	s.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	if _, err := http.Get("http://" + s.addr + "/healthz"); err == nil {
		t.Error("a new connection was accepted after SIGTERM")
	}
	pw.Write([]byte(batch[half:]))
	pw.Close()

	r := <-res
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, `"created"`) {
		t.Errorf("in-flight request: %+v", r)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("exit: %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}
}

// A deployment that separates the two: serve without a dispatcher, and a
// worker that delivers the events the API recorded; both stop cleanly.
func TestWorkerDeliversWhatServeRecorded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "zest.db")
	token, _, code := cli(t, db, nil, "tenants", "create", "acme")
	if code != 0 {
		t.Fatal("create tenant")
	}
	token = strings.TrimSpace(token)
	got := make(chan http.Header, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }))
	defer rcv.Close()

	env := []string{"ZEST_DISPATCHER=false", "ZEST_WEBHOOK_ALLOW_PRIVATE=true"}
	api := startProcess(t, dir, db, env, "serving", "serve")
	post := func(path, body string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+api.addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/v1/webhook-endpoints", `{"url":"`+rcv.URL+`"}`); code != 201 {
		t.Fatalf("create endpoint: %d", code)
	}
	if code := post("/v1/investors", batch); code != 200 {
		t.Fatalf("import: %d", code)
	}
	if api.dispatcher || len(got) != 0 {
		t.Fatal("serve runs a dispatcher with ZEST_DISPATCHER=false")
	}

	w := startProcess(t, dir, db, env, "dispatching webhooks", "worker")
	select {
	case h := <-got:
		if !strings.HasPrefix(h.Get("webhook-id"), "evt_") {
			t.Errorf("delivery headers %v", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker delivered nothing")
	}
	w.stop(t)
	api.stop(t)
}

// check reports a person left without its User and fails; --repair
// completes it once it is older than ZEST_COMPLETE_AFTER, and check then
// passes.
func TestCheckReportsAndRepairs(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		db := testkit.NewDB(t, d, store.Options{})
		if _, err := tenants.New(db.Store, nil).Create(context.Background(), "acme", "", true); err != nil {
			t.Fatal(err)
		}
		orphan := models.Person{ZestPersonID: "psn_orphanedbyacrash", ClientID: "acme", PartnerInvestorID: "acme-inv-1",
			Email: "a@example.com", EmailNormalized: "a@example.com", FirstName: "A", LastName: "B",
			DateOfBirth: "1985-04-12", KYCManagedBy: models.KYCManagedByPartner, KYCFlags: models.StringList{}}
		if _, err := db.Store.WritePeople(context.Background(), "acme", []models.Person{orphan}, nil); err != nil {
			t.Fatal(err)
		}
		peopleWithoutUser := regexp.MustCompile(`(?m)^people without a user +(\d+)$`)
		count := func(out string) string {
			m := peopleWithoutUser.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no count of people without a user in %q", out)
			}
			return m[1]
		}
		if out, errs, code := cli(t, db.URL, nil, "check"); code != 1 || count(out) != "1" || !strings.Contains(errs, "invariant violations remain: 1") {
			t.Errorf("check: %d %q %q", code, out, errs)
		}
		if out, _, code := cli(t, db.URL, []string{"ZEST_COMPLETE_AFTER=1h"}, "check", "--repair"); code != 1 || count(out) != "1" ||
			!strings.Contains(out, "completed 0 pairs") {
			t.Errorf("repair within the grace period: %d %q", code, out)
		}
		if out, errs, code := cli(t, db.URL, []string{"ZEST_COMPLETE_AFTER=0s"}, "check", "--repair"); code != 0 || count(out) != "0" ||
			!strings.Contains(out, "completed 1 pairs") {
			t.Errorf("repair: %d %q %q", code, out, errs)
		}
		if n := db.Count(t, "events"); n != 1 {
			t.Errorf("%d events after the repair, want 1", n)
		}
		if out, _, code := cli(t, db.URL, nil, "check"); code != 0 || strings.Contains(out, "\t1") {
			t.Errorf("check after the repair: %d %q", code, out)
		}
	})
}

// Operators provision SPVs for a tenant, list and close them, and complete
// subscriptions; mistakes name what is missing.
func TestSPVCommands(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		db := testkit.URL(t, d)
		run := func(args ...string) (string, string, int) { return cli(t, db, nil, args...) }
		if _, errs, code := run("tenants", "create", "acme"); code != 0 {
			t.Fatalf("tenants create: %q", errs)
		}
		out, errs, code := run("spvs", "create", "acme", "fund-1", "--name", "Fund One", "--currency", "USD",
			"--share-class", "a=Class A", "--share-class", "b", "--min-amount", "1000.00")
		if code != 0 || out != "SPV fund-1 created for acme with 2 share class(es)\n" {
			t.Fatalf("spvs create: %d %q %q", code, out, errs)
		}
		if _, errs, code := run("spvs", "create", "acme", "fund-1", "--name", "Again", "--currency", "USD", "--share-class", "a"); code != 1 || !strings.Contains(errs, "SPV fund-1 already exists") {
			t.Errorf("duplicate SPV: %d %q", code, errs)
		}
		if _, errs, code := run("spvs", "create", "nobody", "fund-2", "--name", "X", "--currency", "USD", "--share-class", "a"); code != 1 || !strings.Contains(errs, "no tenant nobody") {
			t.Errorf("SPV of an unknown tenant: %d %q", code, errs)
		}
		list, _, code := run("spvs", "list", "acme")
		if code != 0 || !regexp.MustCompile(`fund-1\s+Fund One\s+USD\s+1000(\.0+)?\s+open\s+a,b`).MatchString(list) {
			t.Errorf("spvs list: %d %q", code, list)
		}
		if out, _, code := run("spvs", "close", "fund-1"); code != 0 || out != "SPV fund-1 closed\n" {
			t.Errorf("spvs close: %d %q", code, out)
		}
		if list, _, _ := run("spvs", "list", "acme"); !strings.Contains(list, "closed") {
			t.Errorf("spvs list after close: %q", list)
		}
		if _, errs, code := run("spvs", "close", "fund-9"); code != 1 || !strings.Contains(errs, "no SPV fund-9") {
			t.Errorf("close an unknown SPV: %d %q", code, errs)
		}
		if _, errs, code := run("subscriptions", "complete", "fund-1", "psn_nobody"); code != 1 || !strings.Contains(errs, "psn_nobody has no subscription to SPV fund-1") {
			t.Errorf("complete a missing subscription: %d %q", code, errs)
		}
	})
}
