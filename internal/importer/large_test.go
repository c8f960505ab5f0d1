package importer_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/importer"
	"github.com/zestequity/zest-api/internal/testenv"
	"github.com/zestequity/zest-api/internal/testkit"
)

// Rows in batches of 1000, on PostgreSQL: every row is answered in the
// results file with the id the server holds for it. By default three
// batches, the last one short; 100 000 rows with ZEST_TEST_LONG.
func TestLargeImport(t *testing.T) {
	t.Parallel()
	n := 2_500
	if testenv.Long() {
		n = 100_000
	}
	e := newEnv(t, testkit.Postgres, testkit.Options{})
	file := filepath.Join(e.dir, "investors.csv")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(csvHeader)
	for i := range n {
		w.WriteString(csvRow(fmt.Sprintf("big-%06d", i), "AE"))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	start := time.Now()
	sum, err := importer.Run(ctx, e.options(file, newTransport(e)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d rows in %s", n, time.Since(start).Round(time.Millisecond))
	if sum.Rows != n || sum.Created != n {
		t.Errorf("summary %+v", sum)
	}

	ids := map[string]string{}
	rows, err := e.api.DB.SQL.Query(`SELECT partner_investor_id, zest_person_id FROM people`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var pid, id string
		if err := rows.Scan(&pid, &id); err != nil {
			t.Fatal(err)
		}
		ids[pid] = id
	}
	rows.Close()
	rs := readResults(t, sum.Results)
	if len(rs) != n || len(ids) != n {
		t.Fatalf("%d results, %d people, want %d", len(rs), len(ids), n)
	}
	for i, r := range rs {
		if want := fmt.Sprintf("big-%06d", i); r.line != i+2 || r.pid != want || r.status != "created" || r.zestPersonID != ids[want] {
			t.Fatalf("result %d: %+v, want line %d, %s created as %s", i, r, i+2, want, ids[want])
		}
	}
}
