package apitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/internal/webhooks"
)

// BenchmarkImportBatch measures one 1000-row batch through the real HTTP
// server and middleware: new rows, and the same rows replayed.
//
//	go test ./apitest -run '^$' -bench ImportBatch
func BenchmarkImportBatch(b *testing.B) {
	for _, d := range testkit.Dialects {
		b.Run(string(d), func(b *testing.B) {
			api := testkit.NewAPI(b, d, testkit.Options{})
			token := api.Tenant(b, "acme")
			// A plain client: validating each response would be timed too.
			c, err := client.NewClientWithResponses(api.URL, client.WithRequestEditorFn(authHeader("Bearer "+token)))
			if err != nil {
				b.Fatal(err)
			}
			e := &env{api: api, client: c}
			var last []client.InvestorInput
			n := 0 // across repeated runs (-count), so that every batch is new
			b.Run("new", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					last = rowsFor(fmt.Sprintf("bench-%d", n), 1000)
					n++
					b.StartTimer()
					if res := e.importRows(b, last...); res.Summary.Created != 1000 {
						b.Fatalf("summary %+v", res.Summary)
					}
				}
			})
			b.Run("replay", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if res := e.importRows(b, last...); res.Summary.AlreadyExists != 1000 {
						b.Fatalf("summary %+v", res.Summary)
					}
				}
			})
		})
	}
}

// BenchmarkIdempotencyKey compares a single-row create that carries a new
// key with a replay of a completed key.
//
//	go test ./apitest -run '^$' -bench IdempotencyKey
func BenchmarkIdempotencyKey(b *testing.B) {
	for _, d := range testkit.Dialects {
		b.Run(string(d), func(b *testing.B) {
			api := testkit.NewAPI(b, d, testkit.Options{})
			token := api.Tenant(b, "acme")
			c, err := client.NewClientWithResponses(api.URL, client.WithRequestEditorFn(authHeader("Bearer "+token)))
			if err != nil {
				b.Fatal(err)
			}
			post := func(key string, row client.InvestorInput) *client.ImportInvestorsResponse {
				resp, err := c.ImportInvestorsWithResponse(ctx, nil, client.ImportInvestorsJSONRequestBody{Investors: []client.InvestorInput{row}}, withKey(key))
				if err != nil || resp.StatusCode() != 200 {
					b.Fatalf("%v %v", resp, err)
				}
				return resp
			}
			n := 0
			b.Run("original", func(b *testing.B) {
				for b.Loop() {
					n++
					post(fmt.Sprintf("orig-%d", n), row(fmt.Sprintf("idem-%d", n)))
				}
			})
			b.Run("replay", func(b *testing.B) {
				for b.Loop() {
					if post(fmt.Sprintf("orig-%d", n), row(fmt.Sprintf("idem-%d", n))).HTTPResponse.Header.Get("Idempotent-Replayed") != "true" {
						b.Fatal("not replayed")
					}
				}
			})
		})
	}
}

// BenchmarkWebhookDelivery measures how fast one dispatcher drains a
// backlog of events to a local receiver.
//
//	go test ./apitest -run '^$' -bench WebhookDelivery -benchtime 5000x
func BenchmarkWebhookDelivery(b *testing.B) {
	for _, d := range testkit.Dialects {
		b.Run(string(d), func(b *testing.B) {
			api := testkit.NewAPI(b, d, testkit.Options{})
			e := &env{api: api, client: api.Client(b, api.Tenant(b, "acme"))}
			var received atomic.Int64
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				received.Add(1)
			}))
			defer rcv.Close()
			if _, err := api.Webhooks.CreateEndpoint(ctx, "acme", rcv.URL, nil); err != nil {
				b.Fatal(err)
			}
			rows := rowsFor("wh", b.N)
			for chunk := range slices.Chunk(rows, 1000) {
				e.importRows(b, chunk...)
			}
			b.ResetTimer()
			_, stop := api.StartDispatcher(b, webhooks.DispatcherOptions{Poll: 5 * time.Millisecond})
			for received.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			stop()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkOutboxLag imports 1000-row batches at a steady 5000 rows/s while
// a dispatcher delivers, and reports how long events wait between being
// recorded and reaching the receiver.
//
//	go test ./apitest -run '^$' -bench OutboxLag -benchtime 10x
func BenchmarkOutboxLag(b *testing.B) {
	testkit.RequirePostgres(b)
	api := testkit.NewAPI(b, testkit.Postgres, testkit.Options{})
	token := api.Tenant(b, "acme")
	c, err := client.NewClientWithResponses(api.URL, client.WithRequestEditorFn(authHeader("Bearer "+token)))
	if err != nil {
		b.Fatal(err)
	}
	e := &env{api: api, client: c}
	var mu sync.Mutex
	var lags []time.Duration
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Timestamp time.Time `json:"timestamp"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		lags = append(lags, time.Since(body.Timestamp))
		mu.Unlock()
	}))
	defer rcv.Close()
	if _, err := api.Webhooks.CreateEndpoint(ctx, "acme", rcv.URL, nil); err != nil {
		b.Fatal(err)
	}
	_, stop := api.StartDispatcher(b, webhooks.DispatcherOptions{})
	defer stop()
	tick := time.NewTicker(200 * time.Millisecond) // 1000 rows every 200 ms
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		e.importRows(b, rowsFor(fmt.Sprintf("lag%d", i), 1000)...)
	}
	for {
		mu.Lock()
		n := len(lags)
		mu.Unlock()
		if n >= b.N*1000 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	slices.Sort(lags)
	q := func(p float64) float64 { return float64(lags[int(p*float64(len(lags)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-lag-ms")
	b.ReportMetric(q(0.99), "p99-lag-ms")
	b.ReportMetric(q(1), "max-lag-ms")
}
