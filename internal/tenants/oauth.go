package tenants

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/periodic"
	"github.com/zestequity/zest-api/models"
)

// GrantTypeJWTBearer is the grant of RFC 7523, section 2.1.
const GrantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

const (
	// DefaultAccessTokenTTL is how long an access token lives unless
	// configured otherwise.
	DefaultAccessTokenTTL = 15 * time.Minute
	// maxAssertionLifetime bounds exp after iat: a leaked assertion is
	// worth little for long.
	maxAssertionLifetime = 5 * time.Minute
	// clockSkew is the leeway on exp, nbf and iat for partners' clocks.
	clockSkew         = time.Minute
	accessTokenPrefix = "zat_"
	// maxJTIBytes bounds the jti the database records until the
	// assertion expires.
	maxJTIBytes = 255
)

var accessTokenPattern = regexp.MustCompile(`^zat_[a-z2-7]{52}$`)

// The error codes of RFC 6749, section 5.2.
const (
	GrantInvalidRequest       = "invalid_request"
	GrantInvalidGrant         = "invalid_grant"
	GrantInvalidClient        = "invalid_client"
	GrantUnsupportedGrantType = "unsupported_grant_type"
)

// GrantError is a refused token request, in the terms of RFC 6749, section
// 5.2. Its Description is safe to show: it never repeats the assertion.
type GrantError struct {
	Code        string
	Description string
}

func (e *GrantError) Error() string { return e.Code + ": " + e.Description }

func grantErr(code, description string) *GrantError {
	return &GrantError{Code: code, Description: description}
}

// allowedAlgs are the signing algorithms accepted per key type: never none,
// never HMAC, whose secret would be the public key.
var allowedAlgs = map[string][]string{
	models.KeyTypeEd25519: {"EdDSA"},
	models.KeyTypeP256:    {"ES256"},
	models.KeyTypeRSA:     {"RS256", "PS256"},
}

// AccessToken is a minted bearer token; Token is shown once.
type AccessToken struct {
	Token     string
	ExpiresIn time.Duration
}

// SetAccessTokenTTL sets how long minted access tokens live.
func (s *Service) SetAccessTokenTTL(ttl time.Duration) { s.accessTTL = ttl }

// Exchange checks a JWT-bearer assertion (RFC 7523, section 3) addressed to
// audience, the token endpoint, and mints an access token for its tenant. A
// suspended or unprovisioned tenant still gets a token: the API answers its
// calls 403, as it does for static tokens.
func (s *Service) Exchange(ctx context.Context, grantType, assertion, audience string) (AccessToken, error) {
	switch {
	case grantType == "":
		return AccessToken{}, grantErr(GrantInvalidRequest, "grant_type is missing.")
	case grantType != GrantTypeJWTBearer:
		return AccessToken{}, grantErr(GrantUnsupportedGrantType, "Only grant_type "+GrantTypeJWTBearer+" is supported.")
	case assertion == "":
		return AccessToken{}, grantErr(GrantInvalidRequest, "assertion is missing.")
	}
	// The unverified read only names the key to verify with; nothing it
	// says is trusted until the signature is checked below.
	var unverified jwt.RegisteredClaims
	tok, _, err := jwt.NewParser().ParseUnverified(assertion, &unverified)
	if err != nil {
		return AccessToken{}, grantErr(GrantInvalidRequest, "The assertion is not a well-formed JWT.")
	}
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		return AccessToken{}, grantErr(GrantInvalidRequest, "The assertion's header has no kid.")
	}
	if unverified.Issuer == "" {
		return AccessToken{}, grantErr(GrantInvalidGrant, "The assertion has no iss.")
	}
	// A client id or kid that no tenant or key can have (any text, NUL and
	// all, may sit in a JWT) names no key: it is not looked up.
	var key models.PartnerKey
	if clientIDPattern.MatchString(unverified.Issuer) && kidPattern.MatchString(kid) {
		key, err = s.keyFor(ctx, unverified.Issuer, kid)
	} else {
		err = models.ErrNotFound
	}
	if errors.Is(err, models.ErrNotFound) {
		return AccessToken{}, grantErr(GrantInvalidClient, "The assertion's iss has no key with its kid.")
	}
	if err != nil {
		return AccessToken{}, err
	}
	if key.RevokedAt != nil {
		return AccessToken{}, grantErr(GrantInvalidClient, "The key named by the assertion's kid is revoked.")
	}
	algs := allowedAlgs[key.KeyType]
	if !slices.Contains(algs, tok.Method.Alg()) {
		return AccessToken{}, grantErr(GrantInvalidGrant, "The assertion's alg is not allowed for this key.")
	}
	pub, _, err := parsePublicKey([]byte(key.PublicKey))
	if err != nil {
		return AccessToken{}, err
	}
	now := s.now()
	var claims jwt.RegisteredClaims
	_, err = jwt.NewParser(
		jwt.WithValidMethods(algs),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(audience),
		jwt.WithIssuer(key.ClientID),
		jwt.WithSubject(key.ClientID),
	).ParseWithClaims(assertion, &claims, func(*jwt.Token) (any, error) { return pub, nil })
	if err != nil {
		return AccessToken{}, claimsErr(err)
	}
	start := now
	if claims.IssuedAt != nil {
		start = claims.IssuedAt.Time
	}
	if claims.ExpiresAt.Sub(start) > maxAssertionLifetime {
		return AccessToken{}, grantErr(GrantInvalidGrant, "The assertion's exp is more than 5 minutes after its iat.")
	}
	if claims.ID == "" {
		return AccessToken{}, grantErr(GrantInvalidGrant, "The assertion has no jti.")
	}
	if len(claims.ID) > maxJTIBytes || !utf8.ValidString(claims.ID) || strings.ContainsRune(claims.ID, 0) {
		return AccessToken{}, grantErr(GrantInvalidGrant, fmt.Sprintf("The assertion's jti must be UTF-8 text of at most %d bytes, without NUL.", maxJTIBytes))
	}
	err = s.store.RecordAssertion(ctx, models.UsedAssertion{ClientID: key.ClientID, JTI: claims.ID, ExpiresAt: claims.ExpiresAt.Time})
	if errors.Is(err, models.ErrExists) {
		return AccessToken{}, grantErr(GrantInvalidGrant, "The assertion's jti was used before.")
	}
	if err != nil {
		return AccessToken{}, err
	}
	secret := accessTokenPrefix + ids.Random(secretBytes)
	sum := sha256.Sum256([]byte(secret))
	err = s.store.CreateAccessToken(ctx, models.AccessToken{
		Hash: sum[:], ClientID: key.ClientID, KID: key.KID, CreatedAt: now, ExpiresAt: now.Add(s.accessTTL),
	})
	if err != nil {
		return AccessToken{}, err
	}
	return AccessToken{Token: secret, ExpiresIn: s.accessTTL}, nil
}

// claimsErr names the check a verified parse failed.
func claimsErr(err error) *GrantError {
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return grantErr(GrantInvalidGrant, "The assertion's signature does not verify with the key named by its kid.")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return grantErr(GrantInvalidGrant, "The assertion has no exp.")
	case errors.Is(err, jwt.ErrTokenExpired):
		return grantErr(GrantInvalidGrant, "The assertion has expired (exp).")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return grantErr(GrantInvalidGrant, "The assertion is not valid yet (nbf).")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return grantErr(GrantInvalidGrant, "The assertion's iat is in the future.")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return grantErr(GrantInvalidGrant, "The assertion's aud is not this server's token endpoint.")
	case errors.Is(err, jwt.ErrTokenInvalidSubject):
		return grantErr(GrantInvalidGrant, "The assertion's sub is not its client id.")
	}
	return grantErr(GrantInvalidGrant, "The assertion is invalid.")
}

// keyFor returns the tenant's key kid. A tenant with a JWKS has it read
// first when the copy in partner_keys is past its max-age, and again when
// kid is not there (a partner's new key works at once); a JWKS that cannot
// be read leaves the keys already read in use.
func (s *Service) keyFor(ctx context.Context, clientID, kid string) (models.PartnerKey, error) {
	fetched, ferr := s.refreshJWKS(ctx, clientID, false)
	key, _, err := s.store.KeyWithTenant(ctx, clientID, kid)
	if !errors.Is(err, models.ErrNotFound) {
		return key, err
	}
	if ferr == nil && !fetched {
		fetched, ferr = s.refreshJWKS(ctx, clientID, true)
	}
	if ferr != nil {
		return key, ferr
	}
	if fetched {
		key, _, err = s.store.KeyWithTenant(ctx, clientID, kid)
	}
	return key, err
}

// authenticateAccessToken resolves a minted access token to its tenant.
func (s *Service) authenticateAccessToken(ctx context.Context, token string, invalid *apperr.Error) (Tenant, error) {
	sum := sha256.Sum256([]byte(token))
	tok, keyRevokedAt, status, err := s.store.AccessTokenWithTenant(ctx, sum[:])
	if errors.Is(err, models.ErrNotFound) {
		return Tenant{}, invalid
	}
	if err != nil {
		return Tenant{}, err
	}
	if keyRevokedAt != nil || !s.now().Before(tok.ExpiresAt) {
		return Tenant{}, invalid
	}
	if err := statusErr(status); err != nil {
		return Tenant{}, err
	}
	expires := tok.ExpiresAt
	return Tenant{ClientID: tok.ClientID, KeyID: tok.KID, ExpiresAt: &expires}, nil
}

// Sweep forgets the jti of assertions past their exp, clock skew included
// (until then a replay must still be refused), and expired access tokens.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	now := s.now()
	return s.store.SweepTokens(ctx, now.Add(-clockSkew), now)
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration, log *slog.Logger) {
	periodic.Run(ctx, every, func(ctx context.Context) {
		n, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "sweeping used assertions and expired access tokens failed", "error", err)
		} else if n > 0 {
			log.InfoContext(ctx, "swept used assertions and expired access tokens", "deleted", n)
		}
	})
}
