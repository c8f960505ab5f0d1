package apitest

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/internal/testkit"
)

// One JSON line per request with its id, tenant, route, status, latency and
// row counts; never an email, a name or a date of birth, not even from rows
// that fail.
func TestRequestLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testkit.SQLite, testkit.Options{})
	resp := e.importRaw(t, `{"investors":[
		{"partnerInvestorId":"log-1","email":"Zelda.Secret@example.com","firstName":"Zelda","lastName":"Hyrule","dateOfBirth":"1971-07-23"},
		{"partnerInvestorId":"log-2","email":"Ganon.Secret@example.com","firstName":"Ganon","lastName":"Dorf","dateOfBirth":"1971-02-31"},
		{"partnerInvestorId":"log-3","email":"zelda.secret@EXAMPLE.com","firstName":"Impa","lastName":"Sheikah","dateOfBirth":"1960-01-01"}]}`)
	if resp.JSON200 == nil {
		t.Fatalf("status %d", resp.StatusCode())
	}
	e.importRaw(t, `{"investors":[{"partnerInvestorId":"log-4","email":"Zelda.Secret@example.com"`) // malformed
	logs := e.api.Logs.String()
	for _, pii := range []string{"Zelda", "zelda", "Hyrule", "Ganon", "Dorf", "Impa", "Sheikah", "1971-07-23", "1971-02-31", "1960-01-01"} {
		if strings.Contains(logs, pii) {
			t.Errorf("logs contain %q:\n%s", pii, logs)
		}
	}

	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d request lines, want 2:\n%s", len(lines), logs)
	}
	imp := lines[0]
	if imp["request_id"] != resp.HTTPResponse.Header.Get("Request-Id") || imp["client_id"] != "acme" ||
		imp["route"] != "/v1/investors" || imp["status"] != float64(200) || imp["latency_ms"] == nil ||
		imp["rows_created"] != float64(1) || imp["rows_failed"] != float64(2) || imp["rows_already_exists"] != float64(0) {
		t.Errorf("import line: %v", imp)
	}
	if bad := lines[1]; bad["status"] != float64(400) || bad["error_code"] != "invalid_json" || bad["error_id"] == nil {
		t.Errorf("rejected line: %v", bad)
	}
}
