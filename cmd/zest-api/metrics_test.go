package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/internal/testkit"
)

// freeAddr returns a loopback address no one listens on, for a listener
// whose address the process does not log in its ready line.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// serve and worker expose /metrics on ZEST_METRICS_ADDR and nowhere else;
// on PostgreSQL with the pool's saturation.
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		db := testkit.URL(t, d)
		for _, c := range []struct{ command, ready string }{{"serve", "serving"}, {"worker", "dispatching webhooks"}} {
			addr := freeAddr(t)
			p := startProcess(t, t.TempDir(), db, []string{"ZEST_METRICS_ADDR=" + addr}, c.ready, c.command)
			code, body := get(t, "http://"+addr+"/metrics")
			if code != http.StatusOK {
				t.Fatalf("%s: /metrics answered %d", c.command, code)
			}
			want := []string{"zest_outbox_lag_seconds 0", `zest_outbox_pending_deliveries{endpoint_state="enabled"} 0`, "go_goroutines"}
			if c.command == "serve" {
				want = append(want, "zest_import_rows_total", "zest_idempotent_replays_total 0")
			}
			if d == testkit.Postgres {
				want = append(want, `zest_db_pool_connections{state="max"} 16`, "zest_db_pool_acquire_wait_seconds_total")
			}
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Errorf("%s: /metrics lacks %q", c.command, w)
				}
			}
			if c.command == "serve" {
				if code, _ := get(t, "http://"+p.addr+"/metrics"); code != http.StatusNotFound {
					t.Errorf("the API's listener answers /metrics with %d", code)
				}
			}
			p.stop(t)
		}
	})
}
