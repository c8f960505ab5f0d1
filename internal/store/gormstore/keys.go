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
		var n int64
		if err := tx.Model(&models.Tenant{}).Where("client_id = ?", k.ClientID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return models.ErrNotFound
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
	var n int64
	if err := s.DB.WithContext(ctx).Model(&models.Tenant{}).Where("client_id = ?", clientID).Count(&n).Error; err != nil {
		return nil, s.Classify(err)
	}
	if n == 0 {
		return nil, models.ErrNotFound
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
		SELECT k.client_id, k.kid, k.key_type, k.public_key, k.created_at, k.revoked_at, t.status
		FROM partner_keys k JOIN tenants t ON t.client_id = k.client_id
		WHERE k.client_id = ? AND k.kid = ?`, clientID, kid).Row().
		Scan(&k.ClientID, &k.KID, &k.KeyType, &k.PublicKey, &k.CreatedAt, &k.RevokedAt, &status)
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
