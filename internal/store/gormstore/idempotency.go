package gormstore

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/zestequity/zest-api/models"
)

// ClaimIdempotencyKey inserts the record unless the tenant's key exists; the
// unique primary key makes exactly one of concurrent claimants win.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec models.IdempotencyKey) (bool, error) {
	res := s.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rec)
	if res.Error != nil {
		return false, s.Classify(res.Error)
	}
	return res.RowsAffected == 1, nil
}

// IdempotencyKey returns a tenant's key record.
func (s *Store) IdempotencyKey(ctx context.Context, clientID, key string) (models.IdempotencyKey, error) {
	var rec models.IdempotencyKey
	err := s.DB.WithContext(ctx).Where("client_id = ? AND key = ?", clientID, key).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return rec, models.ErrNotFound
	}
	return rec, s.Classify(err)
}

// TakeOverIdempotencyKey replaces a record that has expired, or whose claim
// was abandoned (no response, lock expired), with rec. It reports whether it
// did; of concurrent takers, one does.
func (s *Store) TakeOverIdempotencyKey(ctx context.Context, rec models.IdempotencyKey, now time.Time) (bool, error) {
	res := s.DB.WithContext(ctx).Model(&models.IdempotencyKey{}).
		Where("client_id = ? AND key = ?", rec.ClientID, rec.Key).
		Where("expires_at <= ? OR (response_status IS NULL AND locked_until <= ?)", now, now).
		Updates(map[string]any{
			"method": rec.Method, "route": rec.Route, "fingerprint": rec.Fingerprint,
			"lock_id": rec.LockID, "locked_until": rec.LockedUntil,
			"response_status": nil, "response_headers": nil, "response_body": nil,
			"created_at": rec.CreatedAt, "expires_at": rec.ExpiresAt,
		})
	if res.Error != nil {
		return false, s.Classify(res.Error)
	}
	return res.RowsAffected == 1, nil
}

// CompleteIdempotencyKey stores the response of a claimed key. It reports
// false when the claim was lost meanwhile (its lock expired and another
// request took the key over); the response is then not stored.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, clientID, key, lockID string, status int, headers string, body []byte) (bool, error) {
	res := s.DB.WithContext(ctx).Model(&models.IdempotencyKey{}).
		Where("client_id = ? AND key = ? AND lock_id = ?", clientID, key, lockID).
		Updates(map[string]any{
			"response_status": status, "response_headers": headers, "response_body": body,
			"lock_id": nil, "locked_until": nil,
		})
	if res.Error != nil {
		return false, s.Classify(res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseIdempotencyKey deletes a claimed key, so that a retry runs anew.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, clientID, key, lockID string) error {
	err := s.DB.WithContext(ctx).Where("client_id = ? AND key = ? AND lock_id = ?", clientID, key, lockID).
		Delete(&models.IdempotencyKey{}).Error
	return s.Classify(err)
}
