package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/zestequity/zest-api/models"
)

// ClaimIdempotencyKey inserts the record unless the tenant's key exists; the
// unique primary key makes exactly one of concurrent claimants win.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec models.IdempotencyKey) (bool, error) {
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rec)
	if res.Error != nil {
		return false, classify(res.Error)
	}
	return res.RowsAffected == 1, nil
}

// IdempotencyKey returns a tenant's key record. A replay is this one query,
// so on PostgreSQL it skips GORM.
func (s *Store) IdempotencyKey(ctx context.Context, clientID, key string) (models.IdempotencyKey, error) {
	var rec models.IdempotencyKey
	if s.dialect == Postgres {
		err := s.pool.QueryRow(ctx, `
			SELECT client_id, key, method, route, fingerprint, lock_id, locked_until,
				response_status, response_headers, response_body, created_at, expires_at
			FROM idempotency_keys WHERE client_id = $1 AND key = $2`, clientID, key).Scan(
			&rec.ClientID, &rec.Key, &rec.Method, &rec.Route, &rec.Fingerprint, &rec.LockID, &rec.LockedUntil,
			&rec.ResponseStatus, &rec.ResponseHeaders, &rec.ResponseBody, &rec.CreatedAt, &rec.ExpiresAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return rec, ErrNotFound
		}
		return rec, classify(err)
	}
	err := s.db.WithContext(ctx).Where("client_id = ? AND key = ?", clientID, key).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return rec, ErrNotFound
	}
	return rec, classify(err)
}

// TakeOverIdempotencyKey replaces a record that has expired, or whose claim
// was abandoned (no response, lock expired), with rec. It reports whether it
// did; of concurrent takers, one does.
func (s *Store) TakeOverIdempotencyKey(ctx context.Context, rec models.IdempotencyKey, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&models.IdempotencyKey{}).
		Where("client_id = ? AND key = ?", rec.ClientID, rec.Key).
		Where("expires_at <= ? OR (response_status IS NULL AND locked_until <= ?)", now, now).
		Updates(map[string]any{
			"method": rec.Method, "route": rec.Route, "fingerprint": rec.Fingerprint,
			"lock_id": rec.LockID, "locked_until": rec.LockedUntil,
			"response_status": nil, "response_headers": nil, "response_body": nil,
			"created_at": rec.CreatedAt, "expires_at": rec.ExpiresAt,
		})
	if res.Error != nil {
		return false, classify(res.Error)
	}
	return res.RowsAffected == 1, nil
}

// CompleteIdempotencyKey stores the response of a claimed key. It reports
// false when the claim was lost meanwhile (its lock expired and another
// request took the key over); the response is then not stored.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, clientID, key, lockID string, status int, headers string, body []byte) (bool, error) {
	res := s.db.WithContext(ctx).Model(&models.IdempotencyKey{}).
		Where("client_id = ? AND key = ? AND lock_id = ?", clientID, key, lockID).
		Updates(map[string]any{
			"response_status": status, "response_headers": headers, "response_body": body,
			"lock_id": nil, "locked_until": nil,
		})
	if res.Error != nil {
		return false, classify(res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseIdempotencyKey deletes a claimed key, so that a retry runs anew.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, clientID, key, lockID string) error {
	err := s.db.WithContext(ctx).Where("client_id = ? AND key = ? AND lock_id = ?", clientID, key, lockID).
		Delete(&models.IdempotencyKey{}).Error
	return classify(err)
}

// SweepIdempotencyKeys deletes up to limit records that expired by now. On
// PostgreSQL, rows another sweeper or request holds are skipped, so that any
// number of processes can sweep at once without waiting on each other.
func (s *Store) SweepIdempotencyKeys(ctx context.Context, now time.Time, limit int) (int64, error) {
	q := `DELETE FROM idempotency_keys WHERE rowid IN (
		SELECT rowid FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`
	if s.dialect == Postgres {
		q = `DELETE FROM idempotency_keys WHERE (client_id, key) IN (
			SELECT client_id, key FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?
			FOR UPDATE SKIP LOCKED)`
	}
	res := s.db.WithContext(ctx).Exec(q, now, limit)
	return res.RowsAffected, classify(res.Error)
}
