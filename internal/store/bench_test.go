package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/models"
)

// BenchmarkBatchWrite measures the store's part of a 1000-row import of new
// investors: the people, then their users and events.
//
//	go test ./internal/store -run '^$' -bench BatchWrite
func BenchmarkBatchWrite(b *testing.B) {
	ctx := context.Background()
	for _, d := range testkit.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db := testkit.NewDB(b, d, store.Options{})
			if err := db.Store.CreateTenant(ctx, models.Tenant{ClientID: "acme", Name: "acme", Status: models.TenantActive},
				models.APIToken{ID: "tok_acme", ClientID: "acme", SecretHash: []byte{1}}); err != nil {
				b.Fatal(err)
			}
			batch := 0
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				people := make([]models.Person, 1000)
				lookup := make([]string, 1000)
				for i := range people {
					pid := fmt.Sprintf("b%d-%04d", batch, i)
					people[i] = models.Person{ZestPersonID: "psn_" + pid, ClientID: "acme", PartnerInvestorID: pid,
						Email: pid + "@x.io", EmailNormalized: pid + "@x.io", FirstName: "F", LastName: "L",
						DateOfBirth: "1990-01-01", KYCManagedBy: models.KYCManagedByPartner, KYCFlags: models.StringList{}}
					lookup[i] = pid
				}
				batch++
				b.StartTimer()
				rows, err := db.Store.WritePeople(ctx, "acme", people, lookup)
				if err != nil || len(rows) != 1000 {
					b.Fatalf("%d rows: %v", len(rows), err)
				}
				cs := make([]investors.Completion, len(rows))
				for i, r := range rows {
					id := r.ID
					cs[i] = investors.Completion{
						User: models.User{PersonID: r.ID, ClientID: "acme", Email: r.Email, EmailIsVerified: true,
							OTPMethod: models.OTPMethodEmail, Phone: "+99900000000000"},
						Event: models.Event{EventID: "evt_" + r.ZestPersonID, ClientID: "acme", Type: models.EventInvestorCreated,
							PersonID: &id, Payload: `{"type":"investor.created"}`, CreatedAt: time.Now()},
					}
				}
				if done, err := db.Store.CompletePairs(ctx, cs); err != nil || len(done) != 1000 {
					b.Fatalf("%d completed: %v", len(done), err)
				}
			}
		})
	}
}
