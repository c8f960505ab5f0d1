package apitest

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/internal/testkit"
)

// importStatements returns the sql_statements of the logged import requests.
func importStatements(t *testing.T, logs string) []int {
	t.Helper()
	var out []int
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg, Method, Route string
			SQLStatements      int `json:"sql_statements"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "request" && line.Method == "POST" && line.Route == "/v1/investors" {
			out = append(out, line.SQLStatements)
		}
	}
	return out
}

// A 1000-row batch costs a handful of statements, whatever its size:
// authentication, one to write the people, one to complete the pairs and
// record their events; a replay reads the known people instead of
// completing pairs.
func TestBatchCostsAHandfulOfStatements(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		rows := rowsFor("stmt", 1000)
		e.importRows(t, rowsFor("first", 10)...)
		e.importRows(t, rows...)
		e.importRows(t, rows...)
		got := importStatements(t, e.api.Logs.String())
		if len(got) != 3 {
			t.Fatalf("%d import log lines", len(got))
		}
		// Each driver's own budget is checked by the store's conformance
		// suite; this is the loosest of them, plus authentication.
		if limit := [2]int{10, 5}; got[1] > limit[0] || got[2] > limit[1] {
			t.Errorf("statements for 10 rows, 1000 new rows, 1000 replayed rows: %v; want at most %v for the last two", got, limit)
		}
		if got[1] > got[0]+4 {
			t.Errorf("statements grow with the batch: %v", got)
		}
		if testing.Verbose() {
			t.Logf("%s: %v", d, got)
		}
	})
}
