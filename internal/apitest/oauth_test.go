package apitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/zestequity/zest-api/internal/testkit"
)

// oauthEnv is a server on a test clock with two tenants, acme (an Ed25519
// key k1 and a P-256 key k2) and globex (an Ed25519 key g1).
type oauthEnv struct {
	api      *testkit.API
	clock    *testkit.Clock
	aud      string
	keys     map[string]crypto.Signer // by kid
	pubPEM   map[string][]byte        // by kid
	static   string                   // acme's static token
	jtiCount int
}

func newOAuthEnv(t *testing.T, d testkit.Dialect) *oauthEnv {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC))
	api := testkit.NewAPI(t, d, testkit.Options{Now: clock.Now})
	e := &oauthEnv{api: api, clock: clock, aud: api.URL + "/v1/oauth2/tokens",
		keys: map[string]crypto.Signer{}, pubPEM: map[string][]byte{}}
	e.static = api.Tenant(t, "acme")
	api.Tenant(t, "globex")
	_, edA, _ := ed25519.GenerateKey(rand.Reader)
	ecA, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edG, _ := ed25519.GenerateKey(rand.Reader)
	for _, k := range []struct {
		client, kid string
		key         crypto.Signer
	}{{"acme", "k1", edA}, {"acme", "k2", ecA}, {"globex", "g1", edG}} {
		der, err := x509.MarshalPKIXPublicKey(k.key.Public())
		if err != nil {
			t.Fatal(err)
		}
		e.keys[k.kid] = k.key
		e.pubPEM[k.kid] = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		if err := api.Tenants.AddKey(ctx, k.client, k.kid, e.pubPEM[k.kid]); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// claims are a valid assertion's claims for acme, with a fresh jti.
func (e *oauthEnv) claims() jwt.MapClaims {
	e.jtiCount++
	now := e.clock.Now()
	return jwt.MapClaims{
		"iss": "acme", "sub": "acme", "aud": e.aud,
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": "jti-" + strconv.Itoa(e.jtiCount),
	}
}

func sign(t *testing.T, method jwt.SigningMethod, kid string, claims jwt.MapClaims, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// exchange posts a token request and returns its status and JSON body.
func (e *oauthEnv) exchange(t *testing.T, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := e.api.HTTP.Post(e.api.URL+"/v1/oauth2/tokens", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	return resp.StatusCode, m
}

func (e *oauthEnv) assert(t *testing.T, assertion string) (int, map[string]any) {
	t.Helper()
	return e.exchange(t, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}})
}

// token exchanges a valid assertion signed with kid and returns the token.
func (e *oauthEnv) token(t *testing.T, kid string) string {
	t.Helper()
	method := jwt.SigningMethod(jwt.SigningMethodEdDSA)
	if kid == "k2" {
		method = jwt.SigningMethodES256
	}
	status, body := e.assert(t, sign(t, method, kid, e.claims(), e.keys[kid]))
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, body)
	}
	if body["token_type"] != "Bearer" || body["expires_in"] != float64(900) {
		t.Errorf("token response %v", body)
	}
	return body["access_token"].(string)
}

// info calls GET /v1/oauth2/info with a bearer token.
func (e *oauthEnv) info(t *testing.T, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.api.URL+"/v1/oauth2/info", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.api.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

// Every crafted assertion is refused with the error, and the description,
// of the check it fails.
func TestTokenAssertionRejections(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newOAuthEnv(t, d)
		if err := e.api.Tenants.AddKey(ctx, "acme", "old", e.pubPEM["g1"]); err != nil {
			t.Fatal(err)
		}
		if err := e.api.Tenants.RevokeKey(ctx, "acme", "old"); err != nil {
			t.Fatal(err)
		}
		ed := jwt.SigningMethodEdDSA
		with := func(change func(jwt.MapClaims)) jwt.MapClaims {
			c := e.claims()
			change(c)
			return c
		}
		now := e.clock.Now()
		replayed := sign(t, ed, "k1", e.claims(), e.keys["k1"])
		if status, body := e.assert(t, replayed); status != http.StatusOK {
			t.Fatalf("first use: %d %v", status, body)
		}
		valid := sign(t, ed, "k1", e.claims(), e.keys["k1"])
		other := sign(t, ed, "k1", e.claims(), e.keys["k1"])
		parts, otherParts := strings.Split(valid, "."), strings.Split(other, ".")
		tampered := parts[0] + "." + otherParts[1] + "." + parts[2]

		cases := []struct {
			name      string
			assertion string
			status    int
			code      string
			describes string
		}{
			{"expired", sign(t, ed, "k1", with(func(c jwt.MapClaims) {
				c["iat"], c["exp"] = now.Add(-5*time.Minute).Unix(), now.Add(-2*time.Minute).Unix()
			}), e.keys["k1"]), 400, "invalid_grant", "expired"},
			{"future nbf", sign(t, ed, "k1", with(func(c jwt.MapClaims) { c["nbf"] = now.Add(2 * time.Minute).Unix() }), e.keys["k1"]), 400, "invalid_grant", "nbf"},
			{"wrong aud", sign(t, ed, "k1", with(func(c jwt.MapClaims) { c["aud"] = "https://elsewhere.example/v1/oauth2/tokens" }), e.keys["k1"]), 400, "invalid_grant", "aud"},
			{"wrong iss", sign(t, ed, "k1", with(func(c jwt.MapClaims) { c["iss"] = "globex" }), e.keys["k1"]), 401, "invalid_client", "no key"},
			{"wrong sub", sign(t, ed, "k1", with(func(c jwt.MapClaims) { c["sub"] = "globex" }), e.keys["k1"]), 400, "invalid_grant", "sub"},
			{"no exp", sign(t, ed, "k1", with(func(c jwt.MapClaims) { delete(c, "exp") }), e.keys["k1"]), 400, "invalid_grant", "no exp"},
			{"exp too late", sign(t, ed, "k1", with(func(c jwt.MapClaims) { c["exp"] = now.Add(10 * time.Minute).Unix() }), e.keys["k1"]), 400, "invalid_grant", "5 minutes"},
			{"no jti", sign(t, ed, "k1", with(func(c jwt.MapClaims) { delete(c, "jti") }), e.keys["k1"]), 400, "invalid_grant", "jti"},
			{"unknown kid", sign(t, ed, "nope", e.claims(), e.keys["k1"]), 401, "invalid_client", "no key"},
			{"revoked key", sign(t, ed, "old", e.claims(), e.keys["g1"]), 401, "invalid_client", "revoked"},
			{"replayed jti", replayed, 400, "invalid_grant", "used before"},
			{"alg none", sign(t, jwt.SigningMethodNone, "k1", e.claims(), jwt.UnsafeAllowNoneSignatureType), 400, "invalid_grant", "alg"},
			{"HS256 with the public key", sign(t, jwt.SigningMethodHS256, "k1", e.claims(), e.pubPEM["k1"]), 400, "invalid_grant", "alg"},
			{"ES256 on an Ed25519 key", sign(t, jwt.SigningMethodES256, "k1", e.claims(), e.keys["k2"]), 400, "invalid_grant", "alg"},
			{"another tenant's key", sign(t, ed, "g1", e.claims(), e.keys["g1"]), 401, "invalid_client", "no key"},
			{"signed by another tenant", sign(t, ed, "k1", e.claims(), e.keys["g1"]), 400, "invalid_grant", "signature"},
			{"tampered signature", tampered, 400, "invalid_grant", "signature"},
			{"not a JWT", "not.a.jwt", 400, "invalid_request", "well-formed"},
			// Any text may sit in a JWT; none of it reaches the database
			// as a 500.
			{"NUL in kid", sign(t, ed, "k1\x00", e.claims(), e.keys["k1"]), 401, "invalid_client", "no key"},
			{"NUL in iss", sign(t, ed, "k1", with(func(c jwt.MapClaims) { c["iss"] = "ac\x00me" }), e.keys["k1"]), 401, "invalid_client", "no key"},
			{"NUL in jti", sign(t, ed, "k1", with(func(c jwt.MapClaims) { c["jti"] = "j\x00" }), e.keys["k1"]), 400, "invalid_grant", "jti"},
			{"long jti", sign(t, ed, "k1", with(func(c jwt.MapClaims) { c["jti"] = strings.Repeat("j", 256) }), e.keys["k1"]), 400, "invalid_grant", "jti"},
		}
		for _, c := range cases {
			status, body := e.assert(t, c.assertion)
			desc, _ := body["error_description"].(string)
			if status != c.status || body["error"] != c.code || !strings.Contains(desc, c.describes) || body["errorId"] == nil {
				t.Errorf("%s: %d %v, want %d %s (%q)", c.name, status, body, c.status, c.code, c.describes)
			}
		}
		// An Idempotency-Key is no way around the one-time jti: the token
		// endpoint has no tenant to keep a key for, so nothing is replayed.
		keyed := sign(t, ed, "k1", e.claims(), e.keys["k1"])
		for i, want := range []int{http.StatusOK, http.StatusBadRequest} {
			req, _ := http.NewRequest(http.MethodPost, e.aud, strings.NewReader(url.Values{
				"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {keyed}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Idempotency-Key", "same-key")
			resp, err := e.api.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want || resp.Header.Get("Idempotent-Replayed") != "" {
				t.Errorf("keyed request %d: %d, replayed %q", i, resp.StatusCode, resp.Header.Get("Idempotent-Replayed"))
			}
		}
		// RSA keys sign with RS256 or PS256, never with a weaker modulus.
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
		if err := e.api.Tenants.AddKey(ctx, "acme", "r1", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); err != nil {
			t.Fatal(err)
		}
		for _, m := range []jwt.SigningMethod{jwt.SigningMethodRS256, jwt.SigningMethodPS256} {
			if status, body := e.assert(t, sign(t, m, "r1", e.claims(), rsaKey)); status != http.StatusOK {
				t.Errorf("%s: %d %v", m.Alg(), status, body)
			}
		}
		if status, body := e.assert(t, sign(t, jwt.SigningMethodRS512, "r1", e.claims(), rsaKey)); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("RS512: %d %v", status, body)
		}

		for name, form := range map[string]url.Values{
			"no grant_type":  {"assertion": {valid}},
			"no assertion":   {"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}},
			"password grant": {"grant_type": {"password"}, "assertion": {valid}},
		} {
			status, body := e.exchange(t, form)
			want := "invalid_request"
			if name == "password grant" {
				want = "unsupported_grant_type"
			}
			if status != 400 || body["error"] != want {
				t.Errorf("%s: %d %v, want %s", name, status, body, want)
			}
		}
	})
}

// An access token works until it expires, until its key is revoked, and only
// while its tenant may use the API; static tokens keep working beside it.
func TestAccessTokens(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newOAuthEnv(t, d)
		tok := e.token(t, "k1")
		status, info := e.info(t, tok)
		wantExpiry := e.clock.Now().Add(15 * time.Minute).Format(time.RFC3339)
		if status != 200 || info["clientId"] != "acme" || info["keyId"] != "k1" || info["expiresAt"] != wantExpiry {
			t.Errorf("info: %d %v, want expiry %s", status, info, wantExpiry)
		}
		if status, info := e.info(t, e.static); status != 200 || info["clientId"] != "acme" || info["keyId"] != nil {
			t.Errorf("static token info: %d %v", status, info)
		}

		e.clock.Advance(15*time.Minute - time.Second)
		if status, _ := e.info(t, tok); status != 200 {
			t.Errorf("just before expiry: %d", status)
		}
		e.clock.Advance(time.Second)
		if status, body := e.info(t, tok); status != 401 || body["code"] != "invalid_token" {
			t.Errorf("expired: %d %v", status, body)
		}

		byK1, byK2 := e.token(t, "k1"), e.token(t, "k2")
		if err := e.api.Tenants.RevokeKey(ctx, "acme", "k1"); err != nil {
			t.Fatal(err)
		}
		if status, _ := e.info(t, byK1); status != 401 {
			t.Errorf("token of a revoked key: %d", status)
		}
		if status, _ := e.info(t, byK2); status != 200 {
			t.Errorf("token of the other key: %d", status)
		}

		// The sweep keeps a jti while an assertion could still be accepted
		// (exp plus the clock skew), then forgets it with the expired tokens.
		before := e.api.DB.Count(t, "used_assertions")
		e.clock.Advance(2*time.Minute + 59*time.Second)
		if n, err := e.api.Tenants.Sweep(ctx); err != nil || e.api.DB.Count(t, "used_assertions") != before-1 {
			t.Errorf("sweep before exp+skew of the last assertions: %d %v", n, err)
		}
		e.clock.Advance(15 * time.Minute)
		if _, err := e.api.Tenants.Sweep(ctx); err != nil || e.api.DB.Count(t, "used_assertions") != 0 || e.api.DB.Count(t, "access_tokens") != 0 {
			t.Errorf("after expiry: %v, %d assertions, %d tokens left", err,
				e.api.DB.Count(t, "used_assertions"), e.api.DB.Count(t, "access_tokens"))
		}

		if err := e.api.Tenants.Suspend(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		suspended := e.token(t, "k2")
		if status, body := e.info(t, suspended); status != 403 || body["code"] != "forbidden" {
			t.Errorf("suspended tenant: %d %v", status, body)
		}
	})
}

// Neither an assertion, nor an access token, nor a key reaches the logs.
func TestTokenSecretsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, testkit.SQLite)
	assertion := sign(t, jwt.SigningMethodEdDSA, "k1", e.claims(), e.keys["k1"])
	status, body := e.assert(t, assertion)
	if status != 200 {
		t.Fatalf("exchange: %d %v", status, body)
	}
	tok := body["access_token"].(string)
	e.info(t, tok)
	e.assert(t, assertion) // replayed
	e.assert(t, sign(t, jwt.SigningMethodEdDSA, "nope", e.claims(), e.keys["k1"]))
	logs := e.api.Logs.String()
	pubB64 := strings.Split(string(e.pubPEM["k1"]), "\n")[1]
	for name, secret := range map[string]string{
		"assertion": assertion, "assertion payload": strings.Split(assertion, ".")[1],
		"access token": tok, "access token secret": strings.TrimPrefix(tok, "zat_"), "public key": pubB64,
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold the %s:\n%s", name, logs)
		}
	}
	if !strings.Contains(logs, `"error_code":"invalid_grant"`) || !strings.Contains(logs, `"error_code":"invalid_client"`) {
		t.Errorf("the refusals are not logged with their codes:\n%s", logs)
	}
}
