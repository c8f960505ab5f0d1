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

// CreateTenant stores a tenant and its first token together.
func (s *Store) CreateTenant(ctx context.Context, t models.Tenant, tok models.APIToken) error {
	now := s.Now()
	t.CreatedAt, t.UpdatedAt, tok.CreatedAt = now, now, now
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&t)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.ErrExists
		}
		return tx.Create(&tok).Error
	})
	return s.Classify(err)
}

// CountTenants returns how many tenants exist.
func (s *Store) CountTenants(ctx context.Context) (int64, error) {
	var n int64
	err := s.DB.WithContext(ctx).Model(&models.Tenant{}).Count(&n).Error
	return n, s.Classify(err)
}

// SetTenantStatus changes a tenant's status.
func (s *Store) SetTenantStatus(ctx context.Context, clientID, status string) error {
	res := s.DB.WithContext(ctx).Model(&models.Tenant{}).Where("client_id = ?", clientID).
		Updates(map[string]any{"status": status, "updated_at": s.Now()})
	if res.Error != nil {
		return s.Classify(res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrNotFound
	}
	return nil
}

// CreateToken stores a new token for an existing tenant.
func (s *Store) CreateToken(ctx context.Context, tok models.APIToken) error {
	tok.CreatedAt = s.Now()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tenantExists(tx, tok.ClientID); err != nil {
			return err
		}
		return tx.Create(&tok).Error
	})
	return s.Classify(err)
}

// ListTokens returns a tenant's tokens, oldest first.
func (s *Store) ListTokens(ctx context.Context, clientID string) ([]models.APIToken, error) {
	if err := tenantExists(s.DB.WithContext(ctx), clientID); err != nil {
		return nil, s.Classify(err)
	}
	var toks []models.APIToken
	err := s.DB.WithContext(ctx).Where("client_id = ?", clientID).Order("created_at, id").Find(&toks).Error
	return toks, s.Classify(err)
}

// RevokeToken marks a token revoked; revoking twice keeps the first time.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	res := s.DB.WithContext(ctx).Model(&models.APIToken{}).Where("id = ?", id).
		Update("revoked_at", gorm.Expr("COALESCE(revoked_at, ?)", s.Now()))
	if res.Error != nil {
		return s.Classify(res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrNotFound
	}
	return nil
}

// TouchToken records a token's use. Callers skip it while the recorded time
// is recent, so that authentication stays a read on the hot path.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	err := s.DB.WithContext(ctx).Model(&models.APIToken{}).Where("id = ?", id).
		Update("last_used_at", at.UTC()).Error
	return s.Classify(err)
}

// TokenWithTenant returns a token and its tenant's status, in one query.
func (s *Store) TokenWithTenant(ctx context.Context, id string) (models.APIToken, string, error) {
	tok, status, err := ScanTokenWithTenant(func(dest ...any) error {
		return s.DB.WithContext(ctx).Raw(TokenWithTenantSQL("?"), id).Row().Scan(dest...)
	})
	return tok, status, s.Classify(err)
}

// TokenWithTenantSQL is TokenWithTenant's query, written once for both
// placeholder styles.
func TokenWithTenantSQL(id string) string {
	return `
		SELECT k.id, k.client_id, k.secret_hash, k.created_at, k.last_used_at, k.revoked_at, t.status
		FROM api_tokens k JOIN tenants t ON t.client_id = k.client_id
		WHERE k.id = ` + id
}

// ScanTokenWithTenant reads the row of TokenWithTenantSQL; scan returns
// sql.ErrNoRows when there is none, which becomes models.ErrNotFound.
func ScanTokenWithTenant(scan func(dest ...any) error) (models.APIToken, string, error) {
	var (
		tok    models.APIToken
		status string
	)
	err := scan(&tok.ID, &tok.ClientID, &tok.SecretHash, &tok.CreatedAt, &tok.LastUsedAt, &tok.RevokedAt, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return tok, "", models.ErrNotFound
	}
	return tok, status, err
}

// tenantExists returns models.ErrNotFound when db holds no tenant clientID:
// the operator commands that write or list a tenant's rows check it first,
// in their transaction where they write.
func tenantExists(db *gorm.DB, clientID string) error {
	var n int64
	if err := db.Model(&models.Tenant{}).Where("client_id = ?", clientID).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return models.ErrNotFound
	}
	return nil
}
