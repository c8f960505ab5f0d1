// Package tenants manages partners (tenants), their API tokens and public
// keys, exchanges signed assertions for access tokens (RFC 7523), and
// authenticates bearer tokens of both kinds.
//
// A token reads zest_<id>_<secret>. The id (80 random bits) names the stored
// row; the secret (256 random bits) is stored only as its SHA-256 and compared
// in constant time. Tokens are shown once, when created. They are kept for
// development; partners exchange assertions signed with their own keys for
// short-lived access tokens (zat_<secret>), stored only as their SHA-256.
package tenants

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/models"
)

const (
	tokenPrefix   = "zest_"
	tokenIDPrefix = "tok_"
	idBytes       = 10 // 16 base32 characters
	secretBytes   = 32 // 52 base32 characters
	// touchEvery bounds how often a token's last use is written, so that
	// authenticating stays a read on the hot path.
	touchEvery = time.Minute
)

var (
	clientIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	tokenPattern    = regexp.MustCompile(`^zest_([a-z2-7]{16})_([a-z2-7]{52})$`)
)

// Tenant is an authenticated tenant.
type Tenant struct {
	ClientID string
	TokenID  string // of a static token
	// KeyID and ExpiresAt are set for an access token: the key that minted
	// it, and when it expires.
	KeyID     string
	ExpiresAt *time.Time
}

// TokenInfo describes a token without its secret.
type TokenInfo struct {
	ID         string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Store is the persistence the service needs; every database driver under
// internal/store implements it.
type Store interface {
	// CreateTenant stores a tenant and its first token together; it returns
	// models.ErrExists when the tenant exists.
	CreateTenant(ctx context.Context, t models.Tenant, tok models.APIToken) error
	// SetTenantStatus returns models.ErrNotFound when there is no such tenant.
	SetTenantStatus(ctx context.Context, clientID, status string) error
	// CreateToken returns models.ErrNotFound when there is no such tenant.
	CreateToken(ctx context.Context, tok models.APIToken) error
	// ListTokens returns the tenant's tokens, oldest first, or
	// models.ErrNotFound when there is no such tenant.
	ListTokens(ctx context.Context, clientID string) ([]models.APIToken, error)
	// RevokeToken marks a token revoked; revoking twice keeps the first time.
	RevokeToken(ctx context.Context, id string) error
	// TokenWithTenant returns a token and its tenant's status, or
	// models.ErrNotFound.
	TokenWithTenant(ctx context.Context, id string) (models.APIToken, string, error)
	TouchToken(ctx context.Context, id string, at time.Time) error
	// CreateKey returns models.ErrNotFound when there is no such tenant and
	// models.ErrExists when the tenant has a key with the same kid.
	CreateKey(ctx context.Context, k models.PartnerKey) error
	// ListKeys returns the tenant's keys, oldest first, or
	// models.ErrNotFound when there is no such tenant.
	ListKeys(ctx context.Context, clientID string) ([]models.PartnerKey, error)
	// RevokeKey marks a key revoked; revoking twice keeps the first time.
	RevokeKey(ctx context.Context, clientID, kid string) error
	// KeyWithTenant returns a key and its tenant's status, or
	// models.ErrNotFound.
	KeyWithTenant(ctx context.Context, clientID, kid string) (models.PartnerKey, string, error)
	// RecordAssertion returns models.ErrExists when the tenant's jti was
	// recorded before, also by another process.
	RecordAssertion(ctx context.Context, a models.UsedAssertion) error
	CreateAccessToken(ctx context.Context, t models.AccessToken) error
	// AccessTokenWithTenant returns the token with the hash, when its key
	// was revoked (nil if it is not), and its tenant's status, or
	// models.ErrNotFound.
	AccessTokenWithTenant(ctx context.Context, hash []byte) (models.AccessToken, *time.Time, string, error)
	// SweepTokens deletes the assertions recorded until before and the
	// access tokens that expired by now, and returns how many.
	SweepTokens(ctx context.Context, before, now time.Time) (int64, error)
	// JWKS returns the tenant's JWKS URL, or models.ErrNotFound.
	JWKS(ctx context.Context, clientID string) (models.PartnerJWKS, error)
	// SetJWKS replaces the tenant's JWKS URL; models.ErrNotFound when there
	// is no such tenant.
	SetJWKS(ctx context.Context, j models.PartnerJWKS) error
	// DeleteJWKS removes the tenant's JWKS URL and revokes its keys from
	// it; models.ErrNotFound when it has none.
	DeleteJWKS(ctx context.Context, clientID string) error
	// SyncJWKSKeys adds the given keys from the tenant's JWKS that it does
	// not hold, and revokes its keys from the JWKS that are not given.
	SyncJWKSKeys(ctx context.Context, clientID string, keys []models.PartnerKey) error
}

// Service manages tenants and tokens.
type Service struct {
	store     Store
	now       func() time.Time
	accessTTL time.Duration
	jwks      *jwksFetcher // nil: tenants' JWKS URLs are not read
}

// New returns a Service. now defaults to time.Now.
func New(st Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, now: now, accessTTL: DefaultAccessTokenTTL}
}

// Errors of the operator interface.
var (
	ErrInvalidClientID = errors.New("client id must be 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit")
	ErrTenantExists    = errors.New("tenant already exists")
	ErrTenantNotFound  = errors.New("no such tenant")
	ErrTokenNotFound   = errors.New("no such token")
)

// Create makes a tenant with one token and returns that token. The tenant is
// active unless provisioned is false.
func (s *Service) Create(ctx context.Context, clientID, name string, provisioned bool) (string, error) {
	if !clientIDPattern.MatchString(clientID) {
		return "", ErrInvalidClientID
	}
	if name == "" {
		name = clientID
	}
	status := models.TenantActive
	if !provisioned {
		status = models.TenantUnprovisioned
	}
	token, row := newToken(clientID)
	err := s.store.CreateTenant(ctx, models.Tenant{ClientID: clientID, Name: name, Status: status}, row)
	if errors.Is(err, models.ErrExists) {
		return "", ErrTenantExists
	}
	return token, err
}

// Provision lets a tenant use the API.
func (s *Service) Provision(ctx context.Context, clientID string) error {
	return s.setStatus(ctx, clientID, models.TenantActive)
}

// Suspend stops a tenant from using the API; its tokens answer 403.
func (s *Service) Suspend(ctx context.Context, clientID string) error {
	return s.setStatus(ctx, clientID, models.TenantSuspended)
}

func (s *Service) setStatus(ctx context.Context, clientID, status string) error {
	err := s.store.SetTenantStatus(ctx, clientID, status)
	if errors.Is(err, models.ErrNotFound) {
		return ErrTenantNotFound
	}
	return err
}

// CreateToken issues another token for a tenant and returns it.
func (s *Service) CreateToken(ctx context.Context, clientID string) (string, error) {
	token, row := newToken(clientID)
	err := s.store.CreateToken(ctx, row)
	if errors.Is(err, models.ErrNotFound) {
		return "", ErrTenantNotFound
	}
	return token, err
}

// ListTokens describes a tenant's tokens.
func (s *Service) ListTokens(ctx context.Context, clientID string) ([]TokenInfo, error) {
	rows, err := s.store.ListTokens(ctx, clientID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrTenantNotFound
	}
	if err != nil {
		return nil, err
	}
	out := make([]TokenInfo, len(rows))
	for i, r := range rows {
		out[i] = TokenInfo{ID: r.ID, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt}
	}
	return out, nil
}

// RevokeToken revokes a token by its id (tok_…).
func (s *Service) RevokeToken(ctx context.Context, tokenID string) error {
	err := s.store.RevokeToken(ctx, tokenID)
	if errors.Is(err, models.ErrNotFound) {
		return ErrTokenNotFound
	}
	return err
}

// Authenticate resolves an Authorization header value to its tenant.
func (s *Service) Authenticate(ctx context.Context, authorization string) (Tenant, error) {
	invalid := apperr.New(apperr.InvalidToken, "The bearer token is missing, malformed, unknown or revoked.")
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Tenant{}, invalid
	}
	token = strings.TrimSpace(token)
	if accessTokenPattern.MatchString(token) {
		return s.authenticateAccessToken(ctx, token, invalid)
	}
	m := tokenPattern.FindStringSubmatch(token)
	if m == nil {
		return Tenant{}, invalid
	}
	id := tokenIDPrefix + m[1]
	tok, status, err := s.store.TokenWithTenant(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return Tenant{}, invalid
	}
	if err != nil {
		return Tenant{}, err
	}
	sum := sha256.Sum256([]byte(m[2]))
	if subtle.ConstantTimeCompare(sum[:], tok.SecretHash) != 1 || tok.RevokedAt != nil {
		return Tenant{}, invalid
	}
	if err := statusErr(status); err != nil {
		return Tenant{}, err
	}
	now := s.now()
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= touchEvery {
		if err := s.store.TouchToken(ctx, id, now); err != nil {
			return Tenant{}, err
		}
	}
	return Tenant{ClientID: tok.ClientID, TokenID: id}, nil
}

// statusErr is the refusal of a tenant's valid token by the tenant's status.
func statusErr(status string) error {
	switch status {
	case models.TenantActive:
		return nil
	case models.TenantSuspended:
		return apperr.New(apperr.Forbidden, "The tenant is suspended.")
	}
	return apperr.New(apperr.Forbidden, "The tenant is not provisioned for the Partner API.")
}

func newToken(clientID string) (string, models.APIToken) {
	id := ids.Random(idBytes)
	secret := ids.Random(secretBytes)
	sum := sha256.Sum256([]byte(secret))
	return fmt.Sprintf("%s%s_%s", tokenPrefix, id, secret),
		models.APIToken{ID: tokenIDPrefix + id, ClientID: clientID, SecretHash: sum[:]}
}
