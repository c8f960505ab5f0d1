package importer_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/importer"
	"github.com/zestequity/zest-api/internal/testkit"
)

// counting counts the requests per path.
type counting struct {
	next http.RoundTripper
	mu   sync.Mutex
	hits map[string]int
}

func (c *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.hits[req.URL.Path]++
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

// With a private key, the importer exchanges signed assertions for access
// tokens, keeps one while it is fresh and mints another when it runs out; a
// key the server does not know stops the import before any row is sent; on
// both databases, so that a partner goes from `keys generate` to an import
// with no static token on either.
func TestImportWithKey(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(pub)
		if err := e.api.Tenants.AddKey(ctx, "acme", "k1", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); err != nil {
			t.Fatal(err)
		}
		privDER, _ := x509.MarshalPKCS8PrivateKey(priv)
		signer, err := importer.ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
		if err != nil {
			t.Fatal(err)
		}
		csv := "partnerInvestorId,email,firstName,lastName,dateOfBirth\n" +
			"k-1,k1@example.com,A,B,1985-04-12\nk-2,k2@example.com,C,D,1985-04-12\nk-3,k3@example.com,E,F,1985-04-12\n"
		run := func(name, kid string, ttl time.Duration) (importer.Summary, map[string]int, error) {
			e.api.Tenants.SetAccessTokenTTL(ttl)
			c := &counting{next: e.api.HTTP.Transport, hits: map[string]int{}}
			sum, err := importer.Run(ctx, importer.Options{
				URL: e.api.URL, ClientID: "acme", KeyID: kid, PrivateKey: signer, File: e.write(t, name, csv), BatchSize: 1,
				HTTPClient: &http.Client{Transport: c},
			})
			return sum, c.hits, err
		}

		sum, hits, err := run("fresh.csv", "k1", 15*time.Minute)
		if err != nil || sum.Created != 3 || hits["/v1/oauth2/tokens"] != 1 || hits["/v1/investors"] != 3 {
			t.Errorf("one token for the import: %+v %v %v", sum, hits, err)
		}
		// A token of a minute is renewed before every batch: the importer
		// never sends one within a minute of its expiry.
		sum, hits, err = run("renewed.csv", "k1", time.Minute)
		if err != nil || !sum.Succeeded() || hits["/v1/oauth2/tokens"] != 4 {
			t.Errorf("renewing tokens: %+v %v %v", sum, hits, err)
		}
		_, hits, err = run("unknown.csv", "k9", 15*time.Minute)
		var refused *importer.RequestError
		if !errors.As(err, &refused) || refused.Status != http.StatusUnauthorized || refused.Code != "invalid_client" || hits["/v1/investors"] != 0 {
			t.Errorf("unknown key: %v %v", err, hits)
		}
		if logs := e.api.Logs.String(); strings.Contains(logs, "eyJ") {
			t.Errorf("an assertion reached the logs:\n%s", logs)
		}
		for _, bad := range []importer.Options{
			{URL: e.api.URL, Token: e.token, ClientID: "acme", KeyID: "k1", PrivateKey: signer},
			{URL: e.api.URL, ClientID: "acme", PrivateKey: signer},
		} {
			bad.File = e.write(t, "bad.csv", csv)
			if _, err := importer.Run(ctx, bad); !errors.Is(err, importer.ErrInvalidOptions) {
				t.Errorf("%+v: %v, want invalid options", bad, err)
			}
		}
	})
}
