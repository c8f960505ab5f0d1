package apitest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/models"
)

// jwksServer publishes a mutable JSON Web Key Set and counts its fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	status  int
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.status != http.StatusOK {
			w.WriteHeader(s.status)
			return
		}
		body, _ := json.Marshal(jose.JSONWebKeySet{Keys: s.keys})
		// An encryption key and a symmetric key, which the server skips.
		body = []byte(strings.Replace(string(body), `"keys":[`, `"keys":[{"kty":"oct","kid":"hmac","k":"c2VjcmV0"},{"kty":"OKP","crv":"X25519","kid":"enc","use":"enc","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"},`, 1))
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(kid string, key ed25519.PrivateKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, jose.JSONWebKey{Key: key.Public(), KeyID: kid, Algorithm: "EdDSA", Use: "sig"})
}

func (s *jwksServer) withdraw(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range s.keys {
		if k.KeyID == kid {
			s.keys = append(s.keys[:i], s.keys[i+1:]...)
			return
		}
	}
}

// A tenant that publishes a JWKS signs with its keys without registering
// them: a new kid works at once, a withdrawn one stops working once the
// copy is past its max-age, taking its access tokens with it, and a JWKS
// that cannot be read leaves the keys already read in use.
func TestJWKS(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newOAuthEnv(t, d)
		jwks := newJWKSServer(t)
		_, j1, _ := ed25519.GenerateKey(rand.Reader)
		_, j2, _ := ed25519.GenerateKey(rand.Reader)
		jwks.publish("j1", j1)
		if err := e.api.Tenants.SetJWKS(ctx, "acme", jwks.URL+"/jwks.json"); err != nil {
			t.Fatal(err)
		}
		ed := jwt.SigningMethodEdDSA
		status, body := e.assert(t, sign(t, ed, "j1", e.claims(), j1))
		if status != http.StatusOK {
			t.Fatalf("a key of the JWKS: %d %v", status, body)
		}
		token := body["access_token"].(string)
		if status, body := e.info(t, token); status != http.StatusOK || body["keyId"] != "j1" {
			t.Errorf("info: %d %v", status, body)
		}
		// Registered keys keep working beside the JWKS, and the copy is
		// fresh: no fetch.
		before := jwks.fetches.Load()
		e.token(t, "k1")
		if jwks.fetches.Load() != before {
			t.Errorf("a fresh copy was fetched again")
		}
		// A kid the server has not read makes it read the JWKS again,
		// but no sooner than 30 s after the last read.
		jwks.publish("j2", j2)
		if status, body := e.assert(t, sign(t, ed, "j2", e.claims(), j2)); status != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("a new kid within 30 s of a read: %d %v", status, body)
		}
		e.clock.Advance(31 * time.Second)
		if status, body := e.assert(t, sign(t, ed, "j2", e.claims(), j2)); status != http.StatusOK {
			t.Errorf("a new kid: %d %v", status, body)
		}
		// A withdrawn key works until the copy is past its max-age (600 s),
		// then it is revoked with its access tokens.
		jwks.withdraw("j1")
		if status, _ := e.assert(t, sign(t, ed, "j1", e.claims(), j1)); status != http.StatusOK {
			t.Errorf("a withdrawn key within the max-age: %d", status)
		}
		e.clock.Advance(10 * time.Minute)
		if status, body := e.assert(t, sign(t, ed, "j1", e.claims(), j1)); status != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(body["error_description"]), "revoked") {
			t.Errorf("a withdrawn key past the max-age: %d %v", status, body)
		}
		if status, _ := e.info(t, token); status != http.StatusUnauthorized {
			t.Errorf("an access token of a withdrawn key: %d", status)
		}
		// The JWKS fails: the keys read stay in use; an unknown kid is a
		// 503 to retry, not a refusal.
		jwks.mu.Lock()
		jwks.status = http.StatusInternalServerError
		jwks.mu.Unlock()
		e.clock.Advance(2 * time.Hour)
		if status, body := e.assert(t, sign(t, ed, "j2", e.claims(), j2)); status != http.StatusOK {
			t.Errorf("a read key while the JWKS fails: %d %v", status, body)
		}
		e.clock.Advance(time.Minute)
		_, j3, _ := ed25519.GenerateKey(rand.Reader)
		req, _ := http.NewRequest(http.MethodPost, e.aud, strings.NewReader("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="+sign(t, ed, "j3", e.claims(), j3)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := e.api.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("an unknown kid while the JWKS fails: %d", resp.StatusCode)
		}
		// Forgetting the JWKS revokes its keys.
		if err := e.api.Tenants.RemoveJWKS(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if status, body := e.assert(t, sign(t, ed, "j2", e.claims(), j2)); status != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(body["error_description"]), "revoked") {
			t.Errorf("a key of a removed JWKS: %d %v", status, body)
		}
	})
}

// A JWKS is fetched under the webhook policy: on a server that sends
// webhooks to public addresses only, a JWKS URL on loopback is refused, and
// one that resolves there later (as DNS rebinding would have it) is never
// read.
func TestJWKSOnAPrivateAddressIsNotRead(t *testing.T) {
	t.Parallel()
	api := testkit.NewAPI(t, testkit.SQLite, testkit.Options{StrictWebhookURLs: true})
	api.Tenant(t, "acme")
	jwks := newJWKSServer(t)
	if err := api.Tenants.SetJWKS(ctx, "acme", jwks.URL+"/jwks.json"); err == nil {
		t.Error("a loopback JWKS URL was accepted")
	}
	if err := api.Store.SetJWKS(ctx, models.PartnerJWKS{ClientID: "acme", URL: jwks.URL + "/jwks.json"}); err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	assertion := sign(t, jwt.SigningMethodEdDSA, "j1", jwt.MapClaims{"iss": "acme", "sub": "acme", "aud": api.URL + "/v1/oauth2/tokens",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": "private"}, key)
	resp, err := api.HTTP.Post(api.URL+"/v1/oauth2/tokens", "application/x-www-form-urlencoded",
		strings.NewReader("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="+assertion))
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Detail string }
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(p.Detail, "address is not allowed") || jwks.fetches.Load() != 0 {
		t.Errorf("a JWKS on loopback: %d %q, %d fetches", resp.StatusCode, p.Detail, jwks.fetches.Load())
	}
}
