package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/zestequity/zest-api/models"
)

// ErrNotFound reports that a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists reports that a row with the same key already exists.
var ErrExists = errors.New("already exists")

// CreateTenant stores a tenant and its first token together.
func (s *Store) CreateTenant(ctx context.Context, t models.Tenant, tok models.APIToken) error {
	now := s.nowUTC()
	t.CreatedAt, t.UpdatedAt, tok.CreatedAt = now, now, now
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&t)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrExists
		}
		return tx.Create(&tok).Error
	})
	return classify(err)
}

// CountTenants returns how many tenants exist.
func (s *Store) CountTenants(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.Tenant{}).Count(&n).Error
	return n, classify(err)
}

// SetTenantStatus changes a tenant's status.
func (s *Store) SetTenantStatus(ctx context.Context, clientID, status string) error {
	res := s.db.WithContext(ctx).Model(&models.Tenant{}).Where("client_id = ?", clientID).
		Updates(map[string]any{"status": status, "updated_at": s.nowUTC()})
	if res.Error != nil {
		return classify(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// CreateToken stores a new token for an existing tenant.
func (s *Store) CreateToken(ctx context.Context, tok models.APIToken) error {
	tok.CreatedAt = s.nowUTC()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Tenant{}).Where("client_id = ?", tok.ClientID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return tx.Create(&tok).Error
	})
	return classify(err)
}

// ListTokens returns a tenant's tokens, oldest first.
func (s *Store) ListTokens(ctx context.Context, clientID string) ([]models.APIToken, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&models.Tenant{}).Where("client_id = ?", clientID).Count(&n).Error; err != nil {
		return nil, classify(err)
	}
	if n == 0 {
		return nil, ErrNotFound
	}
	var toks []models.APIToken
	err := s.db.WithContext(ctx).Where("client_id = ?", clientID).Order("created_at, id").Find(&toks).Error
	return toks, classify(err)
}

// RevokeToken marks a token revoked; revoking twice keeps the first time.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	res := s.db.WithContext(ctx).Model(&models.APIToken{}).Where("id = ?", id).
		Update("revoked_at", gorm.Expr("COALESCE(revoked_at, ?)", s.nowUTC()))
	if res.Error != nil {
		return classify(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// TokenWithTenant returns a token and its tenant's status, in one query:
// it runs on every authenticated request, so on PostgreSQL it skips GORM.
// Given an Idempotency-Key, the same query also returns that key's record
// of the token's tenant (nil when there is none): a replay then costs the
// database a single round trip.
func (s *Store) TokenWithTenant(ctx context.Context, id, idempotencyKey string) (models.APIToken, string, *models.IdempotencyKey, error) {
	// Written once for both placeholder styles: key, key, id.
	q := func(key1, key2, id string) string {
		return `
		SELECT k.id, k.client_id, k.secret_hash, k.created_at, k.last_used_at, k.revoked_at, t.status,
			i.key, i.method, i.route, i.fingerprint, i.lock_id, i.locked_until,
			i.response_status, i.response_headers, i.response_body, i.created_at, i.expires_at
		FROM api_tokens k JOIN tenants t ON t.client_id = k.client_id
		LEFT JOIN idempotency_keys i ON i.client_id = k.client_id AND i.key = ` + key1 + ` AND ` + key2 + ` <> ''
		WHERE k.id = ` + id
	}
	var (
		tok       models.APIToken
		status    string
		rec       models.IdempotencyKey
		key       *string
		createdAt *time.Time
		expiresAt *time.Time
		method    *string
		route     *string
		print     *string
	)
	dest := []any{&tok.ID, &tok.ClientID, &tok.SecretHash, &tok.CreatedAt, &tok.LastUsedAt, &tok.RevokedAt, &status,
		&key, &method, &route, &print, &rec.LockID, &rec.LockedUntil,
		&rec.ResponseStatus, &rec.ResponseHeaders, &rec.ResponseBody, &createdAt, &expiresAt}
	var err error
	if s.dialect == Postgres {
		err = s.pool.QueryRow(ctx, q("$1", "$1", "$2"), idempotencyKey, id).Scan(dest...)
		if errors.Is(err, pgx.ErrNoRows) {
			err = sql.ErrNoRows
		}
	} else {
		err = s.db.WithContext(ctx).Raw(q("?", "?", "?"), idempotencyKey, idempotencyKey, id).Row().Scan(dest...)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return tok, "", nil, ErrNotFound
	}
	if err != nil {
		return tok, "", nil, classify(err)
	}
	if key == nil {
		return tok, status, nil, nil
	}
	rec.ClientID, rec.Key, rec.Method, rec.Route, rec.Fingerprint = tok.ClientID, *key, *method, *route, *print
	rec.CreatedAt, rec.ExpiresAt = *createdAt, *expiresAt
	return tok, status, &rec, nil
}

// TouchToken records a token's use. Callers skip it while the recorded time
// is recent, so that authentication stays a read on the hot path.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	err := s.db.WithContext(ctx).Model(&models.APIToken{}).Where("id = ?", id).
		Update("last_used_at", at.UTC()).Error
	return classify(err)
}
