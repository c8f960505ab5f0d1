package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// zest-api import against a served database: a good file exits 0 with a
// result per row, and running it again sends nothing and changes nothing; a
// bad row, a bad token and a bad command line exit 1, 1 and 2.
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
	if got, _ := os.ReadFile(filepath.Join(dir, "bad.out.csv")); !strings.Contains(string(got), "2,cli-10,failed,,format,dateOfBirth must be YYYY-MM-DD") {
		t.Errorf("bad row results: %q", got)
	}

	other := filepath.Join(dir, "other.csv")
	os.WriteFile(other, []byte(content.String()), 0o600)
	_, errs, code = importFile("--token", "zest_aaaaaaaaaaaaaaaa_"+strings.Repeat("b", 52), other)
	if code != 1 || !strings.Contains(errs, "401 invalid_token: The bearer token is missing, malformed, unknown or revoked.") {
		t.Errorf("bad token: %d %q", code, errs)
	}

	for _, args := range [][]string{{file}, {"--token", token}, {"--token", token, "--batch-size", "1001", file}, {"--token", token, "--nope", file}} {
		if _, errs, code := importFile(args...); code != 2 || !strings.Contains(errs, "usage:") {
			t.Errorf("%q: %d %q", args, code, errs)
		}
	}
	s.stop(t)
}
