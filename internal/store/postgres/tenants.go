package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/zestequity/zest-api/internal/store/gormstore"
	"github.com/zestequity/zest-api/models"
)

// TokenWithTenant returns a token and its tenant's status, in one query. It
// runs on every authenticated request, so it skips GORM.
func (s *Store) TokenWithTenant(ctx context.Context, id string) (models.APIToken, string, error) {
	tok, status, err := gormstore.ScanTokenWithTenant(func(dest ...any) error {
		err := s.pool.QueryRow(ctx, gormstore.TokenWithTenantSQL("$1"), id).Scan(dest...)
		if errors.Is(err, pgx.ErrNoRows) {
			return sql.ErrNoRows
		}
		return err
	})
	return tok, status, classify(err)
}

// AccessTokenWithTenant is TokenWithTenant for access tokens, on the same
// hot path.
func (s *Store) AccessTokenWithTenant(ctx context.Context, hash []byte) (models.AccessToken, *time.Time, string, error) {
	tok, revokedAt, status, err := gormstore.ScanAccessTokenWithTenant(func(dest ...any) error {
		err := s.pool.QueryRow(ctx, gormstore.AccessTokenWithTenantSQL("$1"), hash).Scan(dest...)
		if errors.Is(err, pgx.ErrNoRows) {
			return sql.ErrNoRows
		}
		return err
	})
	return tok, revokedAt, status, classify(err)
}

// IdempotencyKey returns a tenant's key record. A replay is this one query,
// so it skips GORM.
func (s *Store) IdempotencyKey(ctx context.Context, clientID, key string) (models.IdempotencyKey, error) {
	var rec models.IdempotencyKey
	err := s.pool.QueryRow(ctx, `
		SELECT client_id, key, method, route, fingerprint, lock_id, locked_until,
			response_status, response_headers, response_body, created_at, expires_at
		FROM idempotency_keys WHERE client_id = $1 AND key = $2`, clientID, key).Scan(
		&rec.ClientID, &rec.Key, &rec.Method, &rec.Route, &rec.Fingerprint, &rec.LockID, &rec.LockedUntil,
		&rec.ResponseStatus, &rec.ResponseHeaders, &rec.ResponseBody, &rec.CreatedAt, &rec.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return rec, models.ErrNotFound
	}
	return rec, classify(err)
}

// SweepIdempotencyKeys deletes up to limit records that expired by now. Rows
// another sweeper or request holds are skipped, so that any number of
// processes can sweep at once without waiting on each other.
func (s *Store) SweepIdempotencyKeys(ctx context.Context, now time.Time, limit int) (int64, error) {
	res := s.DB.WithContext(ctx).Exec(`DELETE FROM idempotency_keys WHERE (client_id, key) IN (
		SELECT client_id, key FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?
		FOR UPDATE SKIP LOCKED)`, now, limit)
	return res.RowsAffected, classify(res.Error)
}
