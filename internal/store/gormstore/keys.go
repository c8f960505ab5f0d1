package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/zestequity/zest-api/models"
)

// CreateKey stores a tenant's public key.
func (s *Store) CreateKey(ctx context.Context, k models.PartnerKey) error {
	k.CreatedAt = s.Now()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tenantExists(tx, k.ClientID); err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&k)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.ErrExists
		}
		return nil
	})
	return s.Classify(err)
}

// ListKeys returns a tenant's keys, oldest first.
func (s *Store) ListKeys(ctx context.Context, clientID string) ([]models.PartnerKey, error) {
	if err := tenantExists(s.DB.WithContext(ctx), clientID); err != nil {
		return nil, s.Classify(err)
	}
	var keys []models.PartnerKey
	err := s.DB.WithContext(ctx).Where("client_id = ?", clientID).Order("created_at, kid").Find(&keys).Error
	return keys, s.Classify(err)
}

// RevokeKey marks a key revoked; revoking twice keeps the first time.
func (s *Store) RevokeKey(ctx context.Context, clientID, kid string) error {
	res := s.DB.WithContext(ctx).Model(&models.PartnerKey{}).Where("client_id = ? AND kid = ?", clientID, kid).
		Update("revoked_at", gorm.Expr("COALESCE(revoked_at, ?)", s.Now()))
	if res.Error != nil {
		return s.Classify(res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrNotFound
	}
	return nil
}

// KeyWithTenant returns a key and its tenant's status.
func (s *Store) KeyWithTenant(ctx context.Context, clientID, kid string) (models.PartnerKey, string, error) {
	var (
		k      models.PartnerKey
		status string
	)
	err := s.DB.WithContext(ctx).Raw(`
		SELECT k.client_id, k.kid, k.key_type, k.public_key, k.created_at, k.revoked_at, k.from_jwks, t.status
		FROM partner_keys k JOIN tenants t ON t.client_id = k.client_id
		WHERE k.client_id = ? AND k.kid = ?`, clientID, kid).Row().
		Scan(&k.ClientID, &k.KID, &k.KeyType, &k.PublicKey, &k.CreatedAt, &k.RevokedAt, &k.FromJWKS, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return k, "", models.ErrNotFound
	}
	return k, status, s.Classify(err)
}

// RecordAssertion records an accepted assertion's jti; it returns
// models.ErrExists when the jti was recorded before.
func (s *Store) RecordAssertion(ctx context.Context, a models.UsedAssertion) error {
	res := s.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&a)
	if res.Error != nil {
		return s.Classify(res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrExists
	}
	return nil
}

// CreateAccessToken stores a minted access token.
func (s *Store) CreateAccessToken(ctx context.Context, t models.AccessToken) error {
	return s.Classify(s.DB.WithContext(ctx).Create(&t).Error)
}

// AccessTokenWithTenant returns an access token, when the key that minted
// it was revoked, and its tenant's status, in one query.
func (s *Store) AccessTokenWithTenant(ctx context.Context, hash []byte) (models.AccessToken, *time.Time, string, error) {
	tok, revokedAt, status, err := ScanAccessTokenWithTenant(func(dest ...any) error {
		return s.DB.WithContext(ctx).Raw(AccessTokenWithTenantSQL("?"), hash).Row().Scan(dest...)
	})
	return tok, revokedAt, status, s.Classify(err)
}

// AccessTokenWithTenantSQL is AccessTokenWithTenant's query, written once
// for both placeholder styles.
func AccessTokenWithTenantSQL(hash string) string {
	return `
		SELECT a.hash, a.client_id, a.kid, a.created_at, a.expires_at, k.revoked_at, t.status
		FROM access_tokens a
		JOIN partner_keys k ON k.client_id = a.client_id AND k.kid = a.kid
		JOIN tenants t ON t.client_id = a.client_id
		WHERE a.hash = ` + hash
}

// ScanAccessTokenWithTenant reads the row of AccessTokenWithTenantSQL; scan
// returns sql.ErrNoRows when there is none, which becomes
// models.ErrNotFound.
func ScanAccessTokenWithTenant(scan func(dest ...any) error) (models.AccessToken, *time.Time, string, error) {
	var (
		t         models.AccessToken
		revokedAt *time.Time
		status    string
	)
	err := scan(&t.Hash, &t.ClientID, &t.KID, &t.CreatedAt, &t.ExpiresAt, &revokedAt, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil, "", models.ErrNotFound
	}
	return t, revokedAt, status, err
}

// SweepTokens deletes the assertions recorded until before and the access
// tokens that expired by now.
func (s *Store) SweepTokens(ctx context.Context, before, now time.Time) (int64, error) {
	var total int64
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("expires_at < ?", before.UTC()).Delete(&models.UsedAssertion{})
		if res.Error != nil {
			return res.Error
		}
		total = res.RowsAffected
		res = tx.Where("expires_at <= ?", now.UTC()).Delete(&models.AccessToken{})
		total += res.RowsAffected
		return res.Error
	})
	return total, s.Classify(err)
}

// JWKS returns the tenant's JWKS URL, or models.ErrNotFound.
func (s *Store) JWKS(ctx context.Context, clientID string) (models.PartnerJWKS, error) {
	var j models.PartnerJWKS
	err := s.DB.WithContext(ctx).Where("client_id = ?", clientID).Take(&j).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return j, models.ErrNotFound
	}
	return j, s.Classify(err)
}

// SetJWKS sets the tenant's JWKS URL, replacing any other; it returns
// models.ErrNotFound when there is no such tenant.
func (s *Store) SetJWKS(ctx context.Context, j models.PartnerJWKS) error {
	j.CreatedAt = s.Now()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tenantExists(tx, j.ClientID); err != nil {
			return err
		}
		return tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "client_id"}}, DoUpdates: clause.AssignmentColumns([]string{"url", "created_at"}),
		}).Create(&j).Error
	})
	return s.Classify(err)
}

// DeleteJWKS removes the tenant's JWKS URL and revokes the keys fetched
// from it, in one transaction; it returns models.ErrNotFound when the
// tenant has none.
func (s *Store) DeleteJWKS(ctx context.Context, clientID string) error {
	now := s.Now()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("client_id = ?", clientID).Delete(&models.PartnerJWKS{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.ErrNotFound
		}
		return tx.Model(&models.PartnerKey{}).Where("client_id = ? AND from_jwks AND revoked_at IS NULL", clientID).
			Update("revoked_at", now).Error
	})
	return s.Classify(err)
}

// SyncJWKSKeys makes the tenant's keys from its JWKS those given: it adds
// the new ones and revokes those that left, in one transaction. A kid
// already on record, from a file or revoked, is left as it is: a key's
// material never changes under its kid.
func (s *Store) SyncJWKSKeys(ctx context.Context, clientID string, keys []models.PartnerKey) error {
	now := s.Now()
	kids := make([]string, len(keys))
	for i := range keys {
		keys[i].ClientID, keys[i].FromJWKS, keys[i].CreatedAt = clientID, true, now
		kids[i] = keys[i].KID
	}
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if len(keys) > 0 {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&keys).Error; err != nil {
				return err
			}
		}
		gone := tx.Model(&models.PartnerKey{}).Where("client_id = ? AND from_jwks AND revoked_at IS NULL", clientID)
		if len(kids) > 0 {
			gone = gone.Where("kid NOT IN ?", kids)
		}
		return gone.Update("revoked_at", now).Error
	})
	return s.Classify(err)
}
