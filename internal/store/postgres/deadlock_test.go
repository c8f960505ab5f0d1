package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/store/postgres"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/models"
)

// Concurrent batches whose rows share emails, each in another order of the
// emails than of the partnerInvestorIds, meet on both unique keys in
// crossing orders: they must queue, never deadlock. Each round shares new
// emails, since a batch only waits on an email while another inserts it.
func TestOverlappingBatchesNeverDeadlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := postgres.Open(ctx, testkit.PostgresURL(t), postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(ctx, models.Tenant{ClientID: "acme", Name: "Acme", Status: models.TenantActive},
		models.APIToken{ID: "tok_acme", ClientID: "acme", SecretHash: []byte{1}}); err != nil {
		t.Fatal(err)
	}

	const writers, rounds, rows, emails = 6, 5, 500, 100
	batch := func(w, r int) []models.Person {
		rng := rand.New(rand.NewPCG(uint64(w), uint64(r)))
		out := make([]models.Person, rows)
		for i := range out {
			pid := fmt.Sprintf("w%d-r%d-%04d", w, r, i)
			// In partnerInvestorId order, odd writers take the shared
			// emails backwards, even ones forwards, then at random.
			e := rng.IntN(emails)
			if w%2 == 1 {
				e = emails - 1 - i%emails
			} else if i < emails {
				e = i
			}
			email := fmt.Sprintf("r%d-shared-%03d@x.io", r, e)
			if i%3 == 0 {
				email = pid + "@x.io"
			}
			out[i] = models.Person{ZestPersonID: ids.New("psn_"), ClientID: "acme", PartnerInvestorID: pid,
				Email: email, EmailNormalized: email, FirstName: "F", LastName: "L",
				DateOfBirth: "1990-01-01", KYCManagedBy: models.KYCManagedByPartner, KYCFlags: models.StringList{}}
		}
		return out
	}
	for r := range rounds {
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			people := batch(w, r)
			wg.Go(func() {
				<-start
				if _, err := st.WritePeople(ctx, "acme", people, nil); err != nil {
					t.Errorf("writer %d, round %d: %v", w, r, err)
				}
			})
		}
		close(start)
		wg.Wait()
	}
	if n := st.Contended(); n != 0 {
		t.Errorf("%d statements lost a deadlock and were run again; want none", n)
	}
}
