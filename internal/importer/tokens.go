package importer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/zestequity/zest-api/generated/client"
)

const (
	jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// assertionLifetime is well inside the server's five minutes.
	assertionLifetime = 2 * time.Minute
	// refreshBefore renews an access token this long before it expires, so
	// that a batch in flight never carries an expired one.
	refreshBefore = time.Minute
)

// ParsePrivateKey reads a PEM-encoded PKCS #8 (or SEC 1 EC, or PKCS #1 RSA)
// private key.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	return signer, nil
}

// minter exchanges assertions signed with the partner's key for access
// tokens, and keeps the current one until shortly before it expires.
type minter struct {
	api      *client.ClientWithResponses
	clientID string
	kid      string
	key      crypto.Signer
	method   jwt.SigningMethod
	audience string

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

func newMinter(opts Options) (*minter, error) {
	m := &minter{clientID: opts.ClientID, kid: opts.KeyID, key: opts.PrivateKey,
		audience: strings.TrimRight(opts.URL, "/") + "/v1/oauth2/tokens"}
	switch k := opts.PrivateKey.(type) {
	case ed25519.PrivateKey:
		m.method = jwt.SigningMethodEdDSA
	case *ecdsa.PrivateKey:
		m.method = jwt.SigningMethodES256
	case *rsa.PrivateKey:
		m.method = jwt.SigningMethodRS256
	default:
		return nil, fmt.Errorf("%w: unsupported private key type %T", ErrInvalidOptions, k)
	}
	api, err := client.NewClientWithResponses(opts.URL, client.WithHTTPClient(opts.HTTPClient))
	if err != nil {
		return nil, err
	}
	m.api = api
	return m, nil
}

// bearer returns a current access token, minting one when it is due.
func (m *minter) bearer(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.token != "" && time.Now().Before(m.renewAt) {
		return m.token, nil
	}
	now := time.Now()
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	tok := jwt.NewWithClaims(m.method, jwt.RegisteredClaims{
		Issuer: m.clientID, Subject: m.clientID, Audience: jwt.ClaimStrings{m.audience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(assertionLifetime)),
		ID: hex.EncodeToString(jti),
	})
	tok.Header["kid"] = m.kid
	assertion, err := tok.SignedString(m.key)
	if err != nil {
		return "", err
	}
	grant := jwtBearerGrant
	resp, err := m.api.CreateAccessTokenWithFormdataBodyWithResponse(ctx, client.CreateAccessTokenFormdataRequestBody{
		GrantType: &grant, Assertion: &assertion,
	})
	if err != nil {
		return "", err
	}
	if resp.JSON200 == nil {
		refusal := resp.JSON400
		if refusal == nil {
			refusal = resp.JSON401
		}
		e := &RequestError{Batch: "the token request", Status: resp.StatusCode(), Detail: string(resp.Body),
			RequestID: resp.HTTPResponse.Header.Get("Request-Id")}
		if refusal != nil {
			e.Code, e.Detail = string(refusal.Error), ""
			if refusal.ErrorDescription != nil {
				e.Detail = *refusal.ErrorDescription
			}
		}
		return "", e
	}
	m.token = resp.JSON200.AccessToken
	m.renewAt = now.Add(time.Duration(resp.JSON200.ExpiresIn)*time.Second - refreshBefore)
	return m.token, nil
}
