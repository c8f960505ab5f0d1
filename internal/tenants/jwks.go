package tenants

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/netguard"
	"github.com/zestequity/zest-api/models"
)

const (
	// jwksMaxBytes bounds a JWKS document; a set of a few dozen keys is a
	// few kilobytes.
	jwksMaxBytes = 256 << 10
	// jwksTimeout bounds one fetch, inside the token request that waits
	// for it.
	jwksTimeout = 5 * time.Second
	// A fetched JWKS is used for its Cache-Control max-age, within these
	// bounds (jwksDefaultAge without one): long enough to spare the
	// partner's server, short enough that a key it withdraws stops working
	// soon after.
	jwksMinAge, jwksDefaultAge, jwksMaxAge = time.Minute, 5 * time.Minute, time.Hour
	// jwksRefetchAfter is how soon an assertion naming an unknown kid may
	// fetch the JWKS again, so that a partner's new key works at once
	// while a stream of unknown kids cannot make the server hammer the
	// partner's.
	jwksRefetchAfter = 30 * time.Second
)

// ErrInvalidJWKSURL refuses a JWKS URL that the fetches could not use.
var ErrInvalidJWKSURL = errors.New("the JWKS URL must be an absolute https URL on a public address")

// ErrNoJWKS is RemoveJWKS's answer for a tenant without a JWKS URL.
var ErrNoJWKS = errors.New("the tenant has no JWKS URL")

// jwksFetcher fetches tenants' JWKS under the SSRF policy of webhook
// deliveries. Its cache only spares the fetches: every key it reads is
// written to partner_keys, which is what the exchange and the access
// tokens rely on, in every process.
type jwksFetcher struct {
	policy netguard.Policy
	client *http.Client
	mu     sync.Mutex
	cache  map[string]jwksEntry // by client id
}

type jwksEntry struct {
	url        string
	fetchedAt  time.Time
	freshUntil time.Time
	etag       string
}

// WithJWKS lets tenants publish their keys as a JWKS, fetched under policy.
func (s *Service) WithJWKS(policy netguard.Policy) *Service {
	s.jwks = &jwksFetcher{
		policy: policy,
		client: &http.Client{
			Timeout: jwksTimeout,
			Transport: &http.Transport{
				DialContext:           policy.DialContext(&net.Dialer{Timeout: jwksTimeout}),
				Proxy:                 nil, // through a proxy, only the proxy's address would be checked
				TLSHandshakeTimeout:   jwksTimeout,
				ResponseHeaderTimeout: jwksTimeout,
				MaxIdleConnsPerHost:   2,
			},
			// A redirect could lead anywhere; the URL is the partner's to
			// keep current.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		cache: map[string]jwksEntry{},
	}
	return s
}

// SetJWKS makes the tenant's keys those its JWKS at url publishes, besides
// its registered keys.
func (s *Service) SetJWKS(ctx context.Context, clientID, url string) error {
	policy := netguard.Policy{}
	if s.jwks != nil {
		policy = s.jwks.policy
	}
	if err := policy.CheckURL(ctx, url); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJWKSURL, err)
	}
	err := s.store.SetJWKS(ctx, models.PartnerJWKS{ClientID: clientID, URL: url})
	if errors.Is(err, models.ErrNotFound) {
		return ErrTenantNotFound
	}
	return err
}

// RemoveJWKS forgets the tenant's JWKS URL and revokes the keys read from
// it, with the access tokens they minted.
func (s *Service) RemoveJWKS(ctx context.Context, clientID string) error {
	err := s.store.DeleteJWKS(ctx, clientID)
	if errors.Is(err, models.ErrNotFound) {
		return ErrNoJWKS
	}
	return err
}

// JWKSURL returns the tenant's JWKS URL, or "".
func (s *Service) JWKSURL(ctx context.Context, clientID string) (string, error) {
	j, err := s.store.JWKS(ctx, clientID)
	if errors.Is(err, models.ErrNotFound) {
		return "", nil
	}
	return j.URL, err
}

// refreshJWKS brings the keys of the tenant's JWKS, if it has one, into
// partner_keys: when the last fetch is past its max-age, or, with unknown,
// when it is older than jwksRefetchAfter. It reports whether it fetched.
func (s *Service) refreshJWKS(ctx context.Context, clientID string, unknown bool) (bool, error) {
	if s.jwks == nil {
		return false, nil
	}
	j, err := s.store.JWKS(ctx, clientID)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	f, now := s.jwks, s.now()
	f.mu.Lock()
	e := f.cache[clientID]
	f.mu.Unlock()
	if e.url == j.URL && now.Before(e.freshUntil) && (!unknown || now.Sub(e.fetchedAt) < jwksRefetchAfter) {
		return false, nil
	}
	if e.url != j.URL {
		e = jwksEntry{url: j.URL}
	}
	keys, entry, err := f.fetch(ctx, e, now)
	if err != nil {
		// Tried again after jwksRefetchAfter, not by every assertion
		// meanwhile, each of which would wait out the partner's server.
		e.fetchedAt, e.freshUntil = now, now.Add(jwksRefetchAfter)
		f.mu.Lock()
		f.cache[clientID] = e
		f.mu.Unlock()
		return false, apperr.New(apperr.Unavailable, "The tenant's JWKS could not be read: %s. Retry later.", err)
	}
	if keys != nil {
		if err := s.store.SyncJWKSKeys(ctx, clientID, keys); err != nil {
			return false, err
		}
	}
	f.mu.Lock()
	f.cache[clientID] = entry
	f.mu.Unlock()
	return true, nil
}

// fetch reads the JWKS, revalidating with the last ETag; keys is nil when
// the server answers that it has not changed. Its errors are safe to show:
// they name the status or the fault, never the document.
func (f *jwksFetcher) fetch(ctx context.Context, e jwksEntry, now time.Time) ([]models.PartnerKey, jwksEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url, nil)
	if err != nil {
		return nil, e, errors.New("its URL is invalid")
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	if e.etag != "" {
		req.Header.Set("If-None-Match", e.etag)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, netguard.ErrForbiddenAddress) {
			return nil, e, errors.New("its address is not allowed")
		}
		return nil, e, errors.New("the request failed")
	}
	defer resp.Body.Close()
	e.fetchedAt, e.freshUntil = now, now.Add(maxAge(resp.Header.Get("Cache-Control")))
	switch {
	case resp.StatusCode == http.StatusNotModified && e.etag != "":
		return nil, e, nil
	case resp.StatusCode != http.StatusOK:
		return nil, e, fmt.Errorf("it answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
	if err != nil {
		return nil, e, errors.New("its body could not be read")
	}
	if len(body) > jwksMaxBytes {
		return nil, e, fmt.Errorf("it is larger than %d bytes", jwksMaxBytes)
	}
	keys, err := jwksKeys(body)
	if err != nil {
		return nil, e, err
	}
	e.etag = resp.Header.Get("ETag")
	return keys, e, nil
}

// jwksKeys returns the signing keys of a JWKS document that an assertion
// may name: those with a kid of the registered form, of a supported type
// and size. Others (encryption keys, other curves, private keys) are left
// out, as a key file of theirs would be refused.
func jwksKeys(body []byte) ([]models.PartnerKey, error) {
	// Each key is read on its own: a set may hold keys of kinds this
	// server does not take (symmetric, encryption, other curves), which
	// must not cost the partner the keys it does.
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || set.Keys == nil {
		return nil, errors.New("it is not a JSON Web Key Set")
	}
	out := []models.PartnerKey{}
	seen := map[string]bool{}
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) != nil || !kidPattern.MatchString(k.KeyID) || seen[k.KeyID] || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		switch k.Key.(type) {
		case ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey:
		default:
			continue
		}
		der, err := x509.MarshalPKIXPublicKey(k.Key)
		if err != nil {
			continue
		}
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		_, keyType, err := parsePublicKey(pemKey)
		if err != nil {
			continue
		}
		seen[k.KeyID] = true
		out = append(out, models.PartnerKey{KID: k.KeyID, KeyType: keyType, PublicKey: string(pemKey)})
	}
	return out, nil
}

// maxAge is how long a JWKS answered with this Cache-Control is used.
func maxAge(cacheControl string) time.Duration {
	age := jwksDefaultAge
	for d := range strings.SplitSeq(cacheControl, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return jwksMinAge
		case "max-age":
			if n, err := strconv.Atoi(strings.Trim(value, `"`)); err == nil && n >= 0 {
				age = time.Duration(n) * time.Second
			}
		}
	}
	return min(max(age, jwksMinAge), jwksMaxAge)
}
