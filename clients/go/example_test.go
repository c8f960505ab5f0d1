package goclient_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/httpapi"
	"github.com/zestequity/zest-api/internal/idempotency"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/netguard"
	"github.com/zestequity/zest-api/internal/spec"
	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/tenants"
	"github.com/zestequity/zest-api/internal/webhooks"
)

// Import two investors, replay the batch, and read one back. The example
// runs its own server on a temporary database; a partner points the client
// at https://api.zestequity.com with their token instead.
func Example() {
	url, token, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	c, err := client.NewClientWithResponses(url, client.WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	dob := func(s string) openapi_types.Date {
		t, _ := time.Parse(time.DateOnly, s)
		return openapi_types.Date{Time: t}
	}
	country := "AE"
	batch := client.ImportInvestorsJSONRequestBody{Investors: []client.InvestorInput{
		{PartnerInvestorId: "acme-inv-7341", Email: "alice@example.com", FirstName: "Alice", LastName: "Liddell",
			DateOfBirth: dob("1985-04-12"), CountryOfResidence: &country},
		{PartnerInvestorId: "acme-inv-7342", Email: "bob@example.com", FirstName: "Bob", LastName: "Marley",
			DateOfBirth: dob("1980-02-06")},
	}}
	for range 2 {
		resp, err := c.ImportInvestorsWithResponse(ctx, nil, batch)
		if err != nil {
			log.Fatal(err)
		}
		if resp.JSON200 == nil {
			log.Fatalf("import: %d %s", resp.StatusCode(), resp.Body)
		}
		for _, r := range resp.JSON200.Results {
			fmt.Println(*r.PartnerInvestorId, r.Status, strings.HasPrefix(*r.ZestPersonId, "psn_"))
		}
	}

	list, err := c.ListInvestorsWithResponse(ctx, &client.ListInvestorsParams{PartnerInvestorId: ptr("acme-inv-7341")})
	if err != nil {
		log.Fatal(err)
	}
	alice := list.JSON200.Data[0]
	fmt.Println(alice.FirstName, alice.DateOfBirth, alice.KycManagedBy)

	missing, err := c.GetInvestorWithResponse(ctx, "psn_unknown")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(missing.StatusCode(), missing.ApplicationproblemJSON404.Code)
	// Output:
	// acme-inv-7341 created true
	// acme-inv-7342 created true
	// acme-inv-7341 already_exists true
	// acme-inv-7342 already_exists true
	// Alice 1985-04-12 partner
	// 404 not_found
}

func ptr[T any](v T) *T { return &v }

// exampleServer serves the API on a temporary SQLite database with one
// tenant, and returns its URL and token.
func exampleServer() (url, token string, stop func()) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "zest-example")
	if err != nil {
		log.Fatal(err)
	}
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "zest.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	doc, err := spec.Load()
	if err != nil {
		log.Fatal(err)
	}
	inv, err := investors.New(st, doc, investors.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ten := tenants.New(st, nil)
	if token, err = ten.Create(ctx, "acme", "Acme", true); err != nil {
		log.Fatal(err)
	}
	h, err := httpapi.NewServer(httpapi.Deps{
		Investors: inv, Tenants: ten, Ready: st.Ping, Logger: slog.New(slog.DiscardHandler),
		Idempotency:  idempotency.New(st, idempotency.Options{}),
		Webhooks:     webhooks.New(st, netguard.Policy{}, nil),
		MaxBatchRows: 1000, MaxBodyBytes: 4 << 20,
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(h)
	return srv.URL, token, func() { srv.Close(); st.Close(); os.RemoveAll(dir) }
}
