package tenants

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/zestequity/zest-api/models"
)

// minRSABits is the smallest RSA modulus accepted (NIST SP 800-131A).
const minRSABits = 2048

var kidPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Errors of the key commands.
var (
	ErrInvalidKID    = errors.New("key id must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
	ErrInvalidKey    = errors.New("public key must be a PEM-encoded Ed25519, ECDSA P-256 or RSA (at least 2048 bits) public key")
	ErrKeyExists     = errors.New("the tenant already has a key with this id")
	ErrKeyNotFound   = errors.New("no such key")
	errNotPublicPEM  = errors.New("no PEM block of type PUBLIC KEY")
	errUnsupportedEC = errors.New("only the P-256 curve is accepted")
)

// KeyInfo describes a tenant's public key.
type KeyInfo struct {
	KID       string
	KeyType   string
	FromJWKS  bool
	CreatedAt time.Time
	RevokedAt *time.Time
}

// AddKey registers a PEM-encoded public key under kid for the tenant.
func (s *Service) AddKey(ctx context.Context, clientID, kid string, publicPEM []byte) error {
	if !kidPattern.MatchString(kid) {
		return ErrInvalidKID
	}
	_, keyType, err := parsePublicKey(publicPEM)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	err = s.store.CreateKey(ctx, models.PartnerKey{ClientID: clientID, KID: kid, KeyType: keyType, PublicKey: string(publicPEM)})
	switch {
	case errors.Is(err, models.ErrNotFound):
		return ErrTenantNotFound
	case errors.Is(err, models.ErrExists):
		return ErrKeyExists
	}
	return err
}

// ListKeys describes a tenant's keys, oldest first.
func (s *Service) ListKeys(ctx context.Context, clientID string) ([]KeyInfo, error) {
	rows, err := s.store.ListKeys(ctx, clientID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrTenantNotFound
	}
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, len(rows))
	for i, r := range rows {
		out[i] = KeyInfo{KID: r.KID, KeyType: r.KeyType, FromJWKS: r.FromJWKS, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt}
	}
	return out, nil
}

// RevokeKey revokes a tenant's key, and with it every access token it minted.
func (s *Service) RevokeKey(ctx context.Context, clientID, kid string) error {
	err := s.store.RevokeKey(ctx, clientID, kid)
	if errors.Is(err, models.ErrNotFound) {
		return ErrKeyNotFound
	}
	return err
}

// GenerateKeyPair returns a fresh Ed25519 key pair, PEM-encoded (PKCS #8
// private key, SubjectPublicKeyInfo public key), for a partner to start from.
func GenerateKeyPair() (privatePEM, publicPEM []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), nil
}

func parsePublicKey(data []byte) (crypto.PublicKey, string, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, "", errNotPublicPEM
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, "", err
	}
	switch k := key.(type) {
	case ed25519.PublicKey:
		return k, models.KeyTypeEd25519, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, "", errUnsupportedEC
		}
		return k, models.KeyTypeP256, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, "", fmt.Errorf("the RSA key has %d bits", k.N.BitLen())
		}
		return k, models.KeyTypeRSA, nil
	}
	return nil, "", fmt.Errorf("unsupported key type %T", key)
}
