package apitest

import (
	"fmt"
	"testing"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/testkit"
)

// The listing pages through every investor once, oldest first, and an exact
// lookup by partnerInvestorId finds one or none.
func TestListInvestors(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		var created []string
		for i := range 7 {
			res := e.importRows(t, row(fmt.Sprintf("l-%d", 6-i))) // ids sort opposite to creation order
			created = append(created, *res.Results[0].ZestPersonId)
		}

		var seen []string
		var cursor *string
		for page := 0; ; page++ {
			resp, err := e.client.ListInvestorsWithResponse(ctx, &client.ListInvestorsParams{Limit: ptr(3), Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			if resp.JSON200 == nil {
				t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body)
			}
			l := resp.JSON200
			for _, inv := range l.Data {
				seen = append(seen, inv.ZestPersonId)
			}
			if l.HasMore != (l.NextCursor != nil) {
				t.Fatalf("hasMore %v with nextCursor %v", l.HasMore, l.NextCursor)
			}
			if !l.HasMore {
				if page != 2 || len(l.Data) != 1 {
					t.Errorf("last page is page %d with %d rows", page, len(l.Data))
				}
				break
			}
			if len(l.Data) != 3 {
				t.Fatalf("page %d has %d rows", page, len(l.Data))
			}
			cursor = l.NextCursor
		}
		if fmt.Sprint(seen) != fmt.Sprint(created) {
			t.Errorf("listing order %v, want creation order %v", seen, created)
		}

		// Rows created after the first page appear after the ones already read.
		first, _ := e.client.ListInvestorsWithResponse(ctx, &client.ListInvestorsParams{Limit: ptr(6)})
		late := e.importRows(t, row("l-late"))
		rest, _ := e.client.ListInvestorsWithResponse(ctx, &client.ListInvestorsParams{Cursor: first.JSON200.NextCursor})
		if n := len(rest.JSON200.Data); n != 2 || rest.JSON200.Data[1].ZestPersonId != *late.Results[0].ZestPersonId {
			t.Errorf("after the first page: %s", rest.Body)
		}

		look, _ := e.client.ListInvestorsWithResponse(ctx, &client.ListInvestorsParams{PartnerInvestorId: ptr("l-3")})
		if len(look.JSON200.Data) != 1 || look.JSON200.Data[0].PartnerInvestorId != "l-3" || look.JSON200.HasMore {
			t.Errorf("lookup l-3: %s", look.Body)
		}
		none, _ := e.client.ListInvestorsWithResponse(ctx, &client.ListInvestorsParams{PartnerInvestorId: ptr("l-99")})
		if len(none.JSON200.Data) != 0 || none.JSON200.HasMore || none.JSON200.NextCursor != nil {
			t.Errorf("lookup l-99: %s", none.Body)
		}

		for _, bad := range []string{"nonsense", "c1_", "c1_!!!", "c1_LTE", "c1_MDE"} {
			resp, err := e.client.ListInvestorsWithResponse(ctx, &client.ListInvestorsParams{Cursor: ptr(bad)})
			if err != nil {
				t.Fatal(err)
			}
			wantProblem(t, 400, resp.Body, resp.StatusCode(), "invalid_cursor")
		}
		for _, limit := range []int{0, 201, -1} {
			resp, err := e.client.ListInvestorsWithResponse(ctx, &client.ListInvestorsParams{Limit: ptr(limit)})
			if err != nil {
				t.Fatal(err)
			}
			wantProblem(t, 400, resp.Body, resp.StatusCode(), "invalid_request")
		}
	})
}

func TestGetUnknownInvestor(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		resp, err := e.client.GetInvestorWithResponse(ctx, "psn_doesnotexist")
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, 404, resp.Body, resp.StatusCode(), "not_found")
	})
}
