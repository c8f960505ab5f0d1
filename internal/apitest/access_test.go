package apitest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/testkit"
)

// Request-level authentication: 401 for a bad token, 403 for a tenant that
// may not use the API; no row is touched either way.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		api := testkit.NewAPI(t, d, testkit.Options{})
		good := api.Tenant(t, "acme")
		revoked, err := api.Tenants.CreateToken(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		toks, err := api.Tenants.ListTokens(ctx, "acme")
		if err != nil || len(toks) != 2 {
			t.Fatalf("tokens %v %v", toks, err)
		}
		if err := api.Tenants.RevokeToken(ctx, toks[1].ID); err != nil {
			t.Fatal(err)
		}
		unprovisioned, err := api.Tenants.Create(ctx, "newco", "", false)
		if err != nil {
			t.Fatal(err)
		}
		suspended := api.Tenant(t, "gone")
		if err := api.Tenants.Suspend(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		// A well-formed token whose secret does not match.
		forged := good[:len(good)-4] + "aaaa"
		if forged == good {
			forged = good[:len(good)-4] + "bbbb"
		}

		cases := []struct {
			name   string
			header string
			status int
			code   string
		}{
			{"no header", "", 401, "invalid_token"},
			{"basic scheme", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", 401, "invalid_token"},
			{"bearer without token", "Bearer", 401, "invalid_token"},
			{"garbage", "Bearer not-a-token", 401, "invalid_token"},
			{"unknown id", "Bearer zest_aaaaaaaaaaaaaaaa_" + strings.Repeat("a", 52), 401, "invalid_token"},
			{"wrong secret", "Bearer " + forged, 401, "invalid_token"},
			{"revoked", "Bearer " + revoked, 401, "invalid_token"},
			{"unprovisioned", "Bearer " + unprovisioned, 403, "forbidden"},
			{"suspended", "Bearer " + suspended, 403, "forbidden"},
		}
		c := api.Client(t, "")
		for _, tc := range cases {
			resp, err := c.ImportInvestorsWithBodyWithResponse(ctx, nil, "application/json", strings.NewReader(referenceBatch), authHeader(tc.header))
			if err != nil {
				t.Fatal(err)
			}
			t.Run(tc.name, func(t *testing.T) { wantProblem(t, tc.status, resp.Body, resp.StatusCode(), tc.code) })
			list, err := c.ListInvestorsWithResponse(ctx, nil, authHeader(tc.header))
			if err != nil {
				t.Fatal(err)
			}
			if list.StatusCode() != tc.status {
				t.Errorf("%s: list answered %d", tc.name, list.StatusCode())
			}
		}
		// Authentication comes before validation: a bad token with a bad body
		// is still a 401.
		resp, err := c.ImportInvestorsWithBodyWithResponse(ctx, nil, "text/plain", strings.NewReader("{"), authHeader(""))
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, 401, resp.Body, resp.StatusCode(), "invalid_token")
		if n := api.DB.Count(t, "people"); n != 0 {
			t.Errorf("%d people written by rejected requests", n)
		}

		// Provisioning lets the tenant in; the scheme is case-insensitive.
		if err := api.Tenants.Provision(ctx, "newco"); err != nil {
			t.Fatal(err)
		}
		resp, err = c.ImportInvestorsWithBodyWithResponse(ctx, nil, "application/json", strings.NewReader(referenceBatch), authHeader("bearer "+unprovisioned))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != http.StatusOK {
			t.Errorf("provisioned tenant: %d %s", resp.StatusCode(), resp.Body)
		}

		// The probes need no token.
		if h, err := c.GetHealthWithResponse(ctx); err != nil || h.StatusCode() != 200 {
			t.Errorf("healthz: %v %v", h, err)
		}
		if r, err := c.GetReadinessWithResponse(ctx); err != nil || r.StatusCode() != 200 {
			t.Errorf("readyz: %v %v", r, err)
		}
	})
}

// Tenants are isolated: the same partnerInvestorId and email under two
// tenants are two unrelated people, and neither sees the other's.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		api := testkit.NewAPI(t, d, testkit.Options{})
		acme := &env{api: api, client: api.Client(t, api.Tenant(t, "acme"))}
		beta := &env{api: api, client: api.Client(t, api.Tenant(t, "beta"))}

		a := acme.importRaw(t, referenceBatch).JSON200
		b := beta.importRaw(t, referenceBatch).JSON200
		for i := range 2 {
			wantRow(t, *a, i, client.RowStatusCreated, "", "")
			wantRow(t, *b, i, client.RowStatusCreated, "", "")
			if *a.Results[i].ZestPersonId == *b.Results[i].ZestPersonId {
				t.Errorf("row %d: both tenants got %s", i, *a.Results[i].ZestPersonId)
			}
		}
		resp, err := beta.client.GetInvestorWithResponse(ctx, *a.Results[0].ZestPersonId)
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, 404, resp.Body, resp.StatusCode(), "not_found")

		list, err := beta.client.ListInvestorsWithResponse(ctx, &client.ListInvestorsParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.JSON200.Data) != 2 {
			t.Fatalf("beta lists %d investors", len(list.JSON200.Data))
		}
		for _, inv := range list.JSON200.Data {
			if inv.ZestPersonId != *b.Results[0].ZestPersonId && inv.ZestPersonId != *b.Results[1].ZestPersonId {
				t.Errorf("beta lists %s", inv.ZestPersonId)
			}
		}
		look, err := beta.client.ListInvestorsWithResponse(ctx, &client.ListInvestorsParams{PartnerInvestorId: ptr("acme-inv-7341")})
		if err != nil {
			t.Fatal(err)
		}
		if len(look.JSON200.Data) != 1 || look.JSON200.Data[0].ZestPersonId != *b.Results[0].ZestPersonId {
			t.Errorf("beta's lookup: %s", look.Body)
		}
	})
}
