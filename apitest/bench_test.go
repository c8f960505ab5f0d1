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
