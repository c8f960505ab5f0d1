package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// zest-api import against a served database: a good file exits 0 with a
// result per row, and running it again sends nothing and changes nothing; a
// bad row exits 1, a bad token and a bad command line 2.
func TestImportCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "zest.db")
	token, _, code := cli(t, db, nil, "tenants", "create", "acme")
	if code != 0 {
		t.Fatal("create tenant")
	}
	token = strings.TrimSpace(token)
	s := startServer(t, dir, db)
	url := "http://" + s.addr

	var content strings.Builder
	content.WriteString("partnerInvestorId,email,firstName,lastName,dateOfBirth,countryOfResidence\n")
	for i := range 5 {
		fmt.Fprintf(&content, "cli-%d,cli-%d@example.com,First,Last,1985-04-12,AE\n", i, i)
	}
	file := filepath.Join(dir, "investors.csv")
	if err := os.WriteFile(file, []byte(content.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	importFile := func(args ...string) (string, string, int) {
		return cli(t, db, nil, append([]string{"import", "--url", url}, args...)...)
	}

	out, errs, code := importFile("--token", token, file, "--batch-size", "2")
	if code != 0 || out != "5 rows: 5 created, 0 already_exists, 0 failed, 0 pending; results in "+file+".results.csv\n" {
		t.Fatalf("import: %d %q %q", code, out, errs)
	}
	if !strings.Contains(errs, "import: 5/5 rows done (100%): 5 created") {
		t.Errorf("progress: %q", errs)
	}
	results, err := os.ReadFile(file + ".results.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(results)).ReadAll()
	if err != nil || len(recs) != 6 {
		t.Fatalf("results: %v %q", err, results)
	}
	for i, r := range recs[1:] {
		if r[0] != fmt.Sprint(i+2) || r[1] != fmt.Sprintf("cli-%d", i) || r[2] != "created" || !strings.HasPrefix(r[3], "psn_") {
			t.Errorf("result %d: %q", i, r)
		}
	}

	out, errs, code = importFile("--token", token, "--batch-size", "2", file)
	if code != 0 || !strings.Contains(out, "5 created, 0 already_exists, 0 failed, 0 pending (5 answered in an earlier run)") ||
		!strings.Contains(errs, "batches: 0 to send, 3 answered in an earlier run") {
		t.Errorf("rerun: %d %q %q", code, out, errs)
	}
	if again, _ := os.ReadFile(file + ".results.csv"); !bytes.Equal(again, results) {
		t.Errorf("the rerun changed the results:\n%s", again)
	}

	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"partnerInvestorId":"cli-9","email":"cli-9@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`+"\n"+
		`{"partnerInvestorId":"cli-10","email":"cli-10@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-13-01"}`+"\n"), 0o600)
	out, errs, code = importFile("--token", token, "--results", filepath.Join(dir, "bad.out.csv"), bad)
	if code != 1 || !strings.Contains(out, "2 rows: 1 created, 0 already_exists, 1 failed") || !strings.Contains(errs, "1 of 2 rows were not imported") {
		t.Errorf("bad row: %d %q %q", code, out, errs)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "bad.out.csv")); !strings.Contains(string(got), "2,cli-10,failed,,format,dateOfBirth is written as YYYY-MM-DD but that day does not exist") {
		t.Errorf("bad row results: %q", got)
	}

	other := filepath.Join(dir, "other.csv")
	os.WriteFile(other, []byte(content.String()), 0o600)
	_, errs, code = importFile("--token", "zest_aaaaaaaaaaaaaaaa_"+strings.Repeat("b", 52), other)
	if code != 2 || !strings.Contains(errs, "401 invalid_token: The bearer token is missing, malformed, unknown or revoked.") || !strings.Contains(errs, "check --token") {
		t.Errorf("bad token: %d %q", code, errs)
	}

	// A run refused by the server does not replace a complete results file
	// with one of pending rows: it writes beside it.
	_, errs, code = importFile("--token", "zest_aaaaaaaaaaaaaaaa_"+strings.Repeat("b", 52), file)
	if again, _ := os.ReadFile(file + ".results.csv"); code != 2 || !bytes.Equal(again, results) {
		t.Errorf("a refused run replaced the results (exit %d, %q):\n%s", code, errs, again)
	}
	if incomplete, err := os.ReadFile(file + ".results.incomplete.csv"); err != nil || !strings.Contains(string(incomplete), "pending") {
		t.Errorf("the refused run's results: %v %q", err, incomplete)
	}

	for _, args := range [][]string{{file}, {"--token", token}, {"--token", token, "--batch-size", "1001", file}, {"--token", token, "--nope", file}} {
		if _, errs, code := importFile(args...); code != 2 || !strings.Contains(errs, "Usage:") {
			t.Errorf("%q: %d %q", args, code, errs)
		}
	}
	s.stop(t)
}

// The import's exit statuses other than 0 and 1, each with a message in
// words: 2 when it could not run, 3 when interrupted.
func TestImportExitStatuses(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "investors.csv")
	os.WriteFile(file, []byte("partnerInvestorId,email,firstName,lastName,dateOfBirth\nx-1,x-1@example.com,A,B,1985-04-12\n"), 0o600)
	token := "zest_aaaaaaaaaaaaaaaa_" + strings.Repeat("b", 52)
	importFile := func(url string, args ...string) (string, string, int) {
		return cli(t, "", nil, append([]string{"import", "--url", url, "--token", token}, args...)...)
	}
	const hint = "--url is the API's base URL"

	notFound := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"type":"about:blank","title":"Not Found","status":404,"code":"not_found","detail":"No such path."}`)
	}))
	defer notFound.Close()
	if _, errs, code := importFile(notFound.URL+"/api", file); code != 2 || !strings.Contains(errs, "No such path") || !strings.Contains(errs, hint) {
		t.Errorf("404: exit %d, %q", code, errs)
	}
	if _, errs, code := importFile(notFound.URL+"/v1/", file); code != 2 || !strings.Contains(errs, hint) || !strings.Contains(errs, "Usage:") {
		t.Errorf("--url ending in /v1: exit %d, %q", code, errs)
	}
	if _, errs, code := importFile(notFound.URL, filepath.Join(dir, "nope.csv")); code != 2 || !strings.Contains(errs, "nope.csv: no such file") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}

	// The server holds the request until the import is interrupted.
	arrived := make(chan struct{}, 1)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices the client is gone only once the body is read.
		io.Copy(io.Discard, r.Body)
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer hang.Close()
	cmd := exec.Command(binary, "import", "--url", hang.URL, "--token", token, file)
	cmd.Env = append(os.Environ(), asRealCommand)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the import sent nothing")
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("interrupted: %v, want exit 3", err)
	}
	errs := stderr.String()
	if !strings.Contains(errs, "interrupted") || !strings.Contains(errs, "run the same command again") || strings.Contains(errs, "context canceled") {
		t.Errorf("interrupted: %q", errs)
	}
	if got, _ := os.ReadFile(file + ".results.csv"); !strings.Contains(string(got), "x-1,pending") {
		t.Errorf("interrupted results: %q", got)
	}
}
