package apitest

import (
	"fmt"
	"testing"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/testkit"
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
