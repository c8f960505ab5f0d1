package goclient_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

// Authenticate as partners do in production, then import two investors,
// replay the batch, and read one back.
//
// Authentication is the JWT-bearer grant of OAuth 2.0 (RFC 7523): sign a
// short-lived JWT (the assertion) with your private key, whose public half
// Zest operations registered for your client id under a key id (kid), and
// exchange it at POST /v1/oauth2/tokens for an access token; every other
// call carries that token. The private key never leaves you, and an access
// token lives minutes (15 by default).
//
// The example runs its own server on a temporary database, with a key pair
// registered for the tenant acme; a partner points the client at
// https://api.zestequity.com and signs with the private.pem of
// `zest-api keys generate`.
func Example() {
	srv := exampleServer()
	defer srv.stop()
	ctx := context.Background()

	token, err := accessToken(ctx, srv.url, srv.clientID, srv.kid, srv.privateKeyPEM)
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.NewClientWithResponses(srv.url, client.WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	if err != nil {
		log.Fatal(err)
	}

	// The server knows which tenant and key the token stands for.
	info, err := c.GetTokenInfoWithResponse(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if info.JSON200 == nil {
		log.Fatalf("token info: %d %s", info.StatusCode(), info.Body)
	}
	fmt.Println(info.JSON200.ClientId, *info.JSON200.KeyId)

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
	// acme acme-2026-11
	// acme-inv-7341 created true
	// acme-inv-7342 created true
	// acme-inv-7341 already_exists true
	// acme-inv-7342 already_exists true
	// Alice 1985-04-12 partner
	// 404 not_found
}

// accessToken signs an assertion with the PEM-encoded Ed25519 private key
// and exchanges it for an access token at baseURL. An access token lives 15
// minutes by default (expires_in says); sign a new assertion for the next
// one, never reuse one: the server accepts each jti once.
func accessToken(ctx context.Context, baseURL, clientID, kid string, privateKeyPEM []byte) (string, error) {
	key, err := jwt.ParseEdPrivateKeyFromPEM(privateKeyPEM)
	if err != nil {
		return "", err
	}
	now := time.Now()
	assertion := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.RegisteredClaims{
		Issuer:  clientID, // iss and sub: who you are
		Subject: clientID,
		// aud: the URL of the token endpoint, such as
		// https://api.zestequity.com/v1/oauth2/tokens
		Audience:  jwt.ClaimStrings{baseURL + "/v1/oauth2/tokens"},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Minute)), // at most 5 minutes after iat
		ID:        rand.Text(),                                  // jti: unique per assertion
	})
	assertion.Header["kid"] = kid // which of your registered keys signed it
	signed, err := assertion.SignedString(key)
	if err != nil {
		return "", err
	}

	// The token endpoint takes no Authorization header: the assertion is the
	// credential.
	c, err := client.NewClientWithResponses(baseURL)
	if err != nil {
		return "", err
	}
	grant := "urn:ietf:params:oauth:grant-type:jwt-bearer"
	resp, err := c.CreateAccessTokenWithFormdataBodyWithResponse(ctx, client.CreateAccessTokenFormdataRequestBody{
		GrantType: &grant, Assertion: &signed,
	})
	if err != nil {
		return "", err
	}
	if resp.JSON200 != nil {
		return resp.JSON200.AccessToken, nil
	}
	// A refusal follows RFC 6749, section 5.2: error says which check failed.
	refusal := resp.JSON400
	if refusal == nil {
		refusal = resp.JSON401
	}
	if refusal != nil && refusal.ErrorDescription != nil {
		return "", fmt.Errorf("token request refused: %s: %s (errorId %s)", refusal.Error, *refusal.ErrorDescription, refusal.ErrorId)
	}
	return "", fmt.Errorf("token request: HTTP %d %s", resp.StatusCode(), resp.Body)
}

func ptr[T any](v T) *T { return &v }

// server is what the example runs against: the API's URL, and what Zest
// operations hand a partner (a client id and the id of its registered key)
// with the private key the partner keeps.
type server struct {
	url, clientID, kid string
	privateKeyPEM      []byte
	stop               func()
}

// exampleServer serves the API on a temporary SQLite database with one
// tenant, acme, and registers the public half of a fresh Ed25519 key pair
// for it, as `zest-api keys generate` and `zest-api keys add` do.
func exampleServer() server {
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
	const clientID, kid = "acme", "acme-2026-11"
	if _, err := ten.Create(ctx, clientID, "Acme", true); err != nil {
		log.Fatal(err)
	}
	privateKeyPEM, publicKeyPEM, err := tenants.GenerateKeyPair()
	if err != nil {
		log.Fatal(err)
	}
	if err := ten.AddKey(ctx, clientID, kid, publicKeyPEM); err != nil {
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
	return server{url: srv.URL, clientID: clientID, kid: kid, privateKeyPEM: privateKeyPEM,
		stop: func() { srv.Close(); st.Close(); os.RemoveAll(dir) }}
}
