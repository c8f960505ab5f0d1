package sqlite

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/zestequity/zest-api/internal/webhooks"
	"github.com/zestequity/zest-api/models"
)

// ClaimDeliveries leases up to limit due deliveries until leaseUntil. SQLite
// has one writer at a time, so claims cannot overlap; a dispatcher that dies
// leaves its lease to expire, and the delivery is attempted again.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]webhooks.ClaimedDelivery, error) {
	now, leaseUntil = now.UTC(), leaseUntil.UTC()
	var out []webhooks.ClaimedDelivery
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var probes []string
		if err := tx.Raw(`UPDATE webhook_endpoints SET open_until = ?
			WHERE id IN (SELECT w.id FROM webhook_endpoints w
				WHERE w.open_until <= ? AND EXISTS (
					SELECT 1 FROM webhook_deliveries d
					WHERE d.endpoint_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= ?
						AND (d.locked_until IS NULL OR d.locked_until <= ?))
				LIMIT ?)
			RETURNING id`, leaseUntil, now, now, now, limit).Scan(&probes).Error; err != nil {
			return err
		}
		var ids []int64
		if err := tx.Raw(`UPDATE webhook_deliveries SET locked_until = ?, updated_at = ?
			WHERE id IN (SELECT d.id FROM webhook_deliveries d
				WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.locked_until IS NULL OR d.locked_until <= ?)
					AND NOT EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = d.endpoint_id AND w.open_until IS NOT NULL)
				ORDER BY d.next_attempt_at LIMIT ?)
			OR id IN (SELECT (SELECT d.id FROM webhook_deliveries d
					WHERE d.endpoint_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= ?
						AND (d.locked_until IS NULL OR d.locked_until <= ?)
					ORDER BY d.next_attempt_at LIMIT 1)
				FROM webhook_endpoints w WHERE w.id IN ?)
			RETURNING id`, leaseUntil, now, now, now, limit-len(probes), now, now, append(probes, "")).Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		return tx.Raw(`SELECT d.id AS delivery_id, d.attempts, e.seq AS event_seq, e.event_id, e.payload,
				w.id AS endpoint_id, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at,
				w.status AS endpoint_status, w.deleted_at IS NOT NULL AS endpoint_deleted,
				w.consecutive_failures AS endpoint_failures
			FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq JOIN webhook_endpoints w ON w.id = d.endpoint_id
			WHERE d.id IN ?`, ids).Scan(&out).Error
	})
	return out, classify(err)
}

// RecordDeliveryResults applies the results of attempts, records each
// attempt, and sets the endpoints' breakers, in one transaction.
func (s *Store) RecordDeliveryResults(ctx context.Context, results []webhooks.DeliveryResult, breakers []webhooks.Breaker) error {
	if len(results) == 0 {
		return nil
	}
	now := s.Now()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, b := range breakers {
			var open *time.Time
			if b.OpenUntil != nil {
				t := b.OpenUntil.UTC()
				open = &t
			}
			if err := tx.Model(&models.WebhookEndpoint{}).Where("id = ?", b.EndpointID).
				Updates(map[string]any{"consecutive_failures": b.ConsecutiveFailures, "open_until": open}).Error; err != nil {
				return err
			}
		}
		for _, r := range results {
			inc := 0
			if r.Attempted {
				inc = 1
			}
			var delivered *time.Time
			if r.Status == models.DeliverySucceeded {
				at := r.AttemptedAt.UTC()
				delivered = &at
			}
			if err := tx.Model(&models.WebhookDelivery{}).
				Where("id = ? AND attempts = ? AND status = ?", r.DeliveryID, r.Attempts, models.DeliveryPending).
				Updates(map[string]any{
					"status": r.Status, "attempts": r.Attempts + inc, "next_attempt_at": r.NextAttemptAt.UTC(),
					"locked_until": nil, "last_status_code": r.StatusCode, "last_error": r.Error,
					"delivered_at": delivered, "updated_at": now,
				}).Error; err != nil {
				return err
			}
			if r.Attempted {
				if err := tx.Create(&models.WebhookAttempt{DeliveryID: r.DeliveryID, EventSeq: r.EventSeq, EndpointID: r.EndpointID,
					AttemptedAt: r.AttemptedAt.UTC(), StatusCode: r.StatusCode, LatencyMS: r.LatencyMS, Error: r.Error}).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
	return classify(err)
}

// SweepIdempotencyKeys deletes up to limit records that expired by now.
func (s *Store) SweepIdempotencyKeys(ctx context.Context, now time.Time, limit int) (int64, error) {
	res := s.DB.WithContext(ctx).Exec(`DELETE FROM idempotency_keys WHERE rowid IN (
		SELECT rowid FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`, now, limit)
	return res.RowsAffected, classify(res.Error)
}
