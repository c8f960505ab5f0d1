package apitest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/testkit"
)

// Requests racing on one partnerInvestorId end with one Person: one created,
// the rest already_exists, all naming the same zestPersonId.
func TestConcurrentSameRow(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		const clients = 16
		results := make([]client.ImportInvestorsResult, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() { results[i] = e.importRows(t, row("race-1")) })
		}
		wg.Wait()
		created, ids := 0, map[string]bool{}
		for _, r := range results {
			if r.Results == nil {
				t.FailNow()
			}
			switch r.Results[0].Status {
			case client.RowStatusCreated:
				created++
			case client.RowStatusAlreadyExists:
			default:
				t.Fatalf("row answered %s", rawJSON(t, r.Results[0]))
			}
			ids[*r.Results[0].ZestPersonId] = true
		}
		if created != 1 || len(ids) != 1 {
			t.Errorf("%d created, %d distinct ids; want 1 and 1", created, len(ids))
		}
		if p, u := e.api.DB.Count(t, "people"), e.api.DB.Count(t, "users"); p != 1 || u != 1 {
			t.Errorf("%d people, %d users", p, u)
		}
	})
}

// Requests racing on one email under different ids: one created, the rest
// conflict.
func TestConcurrentSameEmail(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		const clients = 12
		results := make([]client.ImportInvestorsResult, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				r := row(fmt.Sprintf("mail-%d", i))
				r.Email = "shared@example.com"
				results[i] = e.importRows(t, r)
			})
		}
		wg.Wait()
		created := 0
		for _, r := range results {
			if r.Results == nil {
				t.FailNow()
			}
			if r.Results[0].Status == client.RowStatusCreated {
				created++
			} else {
				wantRow(t, r, 0, client.RowStatusFailed, client.RowErrorCodeConflict, "email")
			}
		}
		if created != 1 || e.api.DB.Count(t, "people") != 1 {
			t.Errorf("%d created", created)
		}
	})
}

// Four clients send the same rows in different orders, over several rounds:
// no request fails, each row is created exactly once, and every client is
// told the same id for it. Rows are written in key order, so overlapping
// batches do not deadlock; rows whose emails cross are retried.
func TestConcurrentOverlappingBatches(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		const clients, rounds, size = 4, 3, 300
		for round := range rounds {
			rows := rowsFor(fmt.Sprintf("ov%d", round), size)
			// Emails shifted by one between two halves make some rows of
			// different ids compete for the same email in opposite orders.
			for i := size / 2; i < size-1; i++ {
				rows[i].Email = rows[i+1].Email
			}
			results := make([]client.ImportInvestorsResult, clients)
			var wg sync.WaitGroup
			for c := range clients {
				mine := append([]client.InvestorInput(nil), rows...)
				rand.New(rand.NewPCG(uint64(round), uint64(c))).Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
				wg.Go(func() { results[c] = e.importRows(t, mine...) })
			}
			wg.Wait()
			createdBy := map[string]int{}
			idOf := map[string]string{}
			for _, res := range results {
				if res.Results == nil {
					t.FailNow()
				}
				for _, r := range res.Results {
					pid := *r.PartnerInvestorId
					switch r.Status {
					case client.RowStatusCreated:
						createdBy[pid]++
					case client.RowStatusFailed:
						if r.Error.Code != client.RowErrorCodeConflict {
							t.Fatalf("round %d: %s failed: %s", round, pid, rawJSON(t, r.Error))
						}
						continue
					}
					if prev, ok := idOf[pid]; ok && prev != *r.ZestPersonId {
						t.Fatalf("round %d: %s answered %s and %s", round, pid, prev, *r.ZestPersonId)
					}
					idOf[pid] = *r.ZestPersonId
				}
			}
			for pid, id := range idOf {
				if createdBy[pid] != 1 {
					t.Errorf("round %d: %s (%s) created %d times", round, pid, id, createdBy[pid])
				}
			}
		}
		checkPairs(t, e.api.DB)
		if people := e.api.DB.Count(t, "people"); people < rounds*size/2 {
			t.Errorf("only %d people", people)
		}
	})
}
