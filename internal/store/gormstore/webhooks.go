package gormstore

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/zestequity/zest-api/internal/webhooks"
	"github.com/zestequity/zest-api/models"
)

// CreateEndpoint stores a new webhook endpoint.
func (s *Store) CreateEndpoint(ctx context.Context, e models.WebhookEndpoint) (models.WebhookEndpoint, error) {
	now := s.Now()
	e.CreatedAt, e.UpdatedAt = now, now
	err := s.DB.WithContext(ctx).Create(&e).Error
	return e, s.Classify(err)
}

// Endpoints returns the tenant's endpoints that are not deleted, oldest first.
func (s *Store) Endpoints(ctx context.Context, clientID string) ([]models.WebhookEndpoint, error) {
	var out []models.WebhookEndpoint
	err := s.DB.WithContext(ctx).Where("client_id = ? AND deleted_at IS NULL", clientID).
		Order("created_at, id").Find(&out).Error
	return out, s.Classify(err)
}

// Endpoint returns one of the tenant's endpoints that is not deleted.
func (s *Store) Endpoint(ctx context.Context, clientID, id string) (models.WebhookEndpoint, error) {
	var e models.WebhookEndpoint
	err := s.DB.WithContext(ctx).Where("client_id = ? AND id = ? AND deleted_at IS NULL", clientID, id).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return e, models.ErrNotFound
	}
	return e, s.Classify(err)
}

// DeleteEndpoint deletes an endpoint and fails its pending deliveries, in one
// transaction, so that no dispatcher attempts them afterwards.
func (s *Store) DeleteEndpoint(ctx context.Context, clientID, id string) error {
	now := s.Now()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.WebhookEndpoint{}).Where("client_id = ? AND id = ? AND deleted_at IS NULL", clientID, id).
			Updates(map[string]any{"deleted_at": now, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.ErrNotFound
		}
		return tx.Model(&models.WebhookDelivery{}).Where("endpoint_id = ? AND status = ?", id, models.DeliveryPending).
			Updates(map[string]any{"status": models.DeliveryFailed, "last_error": "endpoint deleted", "locked_until": nil, "updated_at": now}).Error
	})
	return s.Classify(err)
}

// RotateSecret makes secret the endpoint's secret and keeps the previous one
// valid until graceUntil.
func (s *Store) RotateSecret(ctx context.Context, clientID, id, secret string, graceUntil time.Time) (models.WebhookEndpoint, error) {
	var e models.WebhookEndpoint
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.WebhookEndpoint{}).Where("client_id = ? AND id = ? AND deleted_at IS NULL", clientID, id).
			Updates(map[string]any{
				// SET expressions read the row as it was: this keeps the old secret.
				"previous_secret":            gorm.Expr("secret"),
				"previous_secret_expires_at": graceUntil.UTC(),
				"secret":                     secret,
				"updated_at":                 s.Now(),
			})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.ErrNotFound
		}
		return tx.Where("id = ?", id).Take(&e).Error
	})
	return e, s.Classify(err)
}

// RecoverDeliveries queues again, due now with a fresh schedule, the
// endpoint's failed deliveries of events recorded since then.
func (s *Store) RecoverDeliveries(ctx context.Context, clientID, endpointID string, since time.Time) (int64, error) {
	if _, err := s.Endpoint(ctx, clientID, endpointID); err != nil {
		return 0, err
	}
	now := s.Now()
	res := s.DB.WithContext(ctx).Model(&models.WebhookDelivery{}).
		Where("endpoint_id = ? AND status = ?", endpointID, models.DeliveryFailed).
		Where("event_seq IN (SELECT seq FROM events WHERE client_id = ? AND created_at >= ?)", clientID, since.UTC()).
		Updates(map[string]any{
			"status": models.DeliveryPending, "attempts": 0, "next_attempt_at": now,
			"locked_until": nil, "updated_at": now,
		})
	return res.RowsAffected, s.Classify(res.Error)
}

// Events returns up to q.Limit events after q.AfterSeq.
func (s *Store) Events(ctx context.Context, q webhooks.EventsQuery) ([]models.Event, error) {
	db := s.DB.WithContext(ctx).Where("client_id = ? AND seq > ?", q.ClientID, q.AfterSeq)
	if q.Type != nil {
		db = db.Where("type = ?", *q.Type)
	}
	var out []models.Event
	err := db.Order("seq").Limit(q.Limit).Find(&out).Error
	return out, s.Classify(err)
}

// Event returns one of the tenant's events, with its deliveries and attempts.
func (s *Store) Event(ctx context.Context, clientID, eventID string) (webhooks.EventDetail, error) {
	var d webhooks.EventDetail
	db := s.DB.WithContext(ctx)
	err := db.Where("client_id = ? AND event_id = ?", clientID, eventID).Take(&d.Event).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return d, models.ErrNotFound
	}
	if err != nil {
		return d, s.Classify(err)
	}
	if err := db.Where("event_seq = ?", d.Event.Seq).Order("created_at, id").Find(&d.Deliveries).Error; err != nil {
		return d, s.Classify(err)
	}
	err = db.Where("event_seq = ?", d.Event.Seq).Order("attempted_at, id").Find(&d.Attempts).Error
	return d, s.Classify(err)
}

// DisableEndpoint stops deliveries to an endpoint, giving the reason.
func (s *Store) DisableEndpoint(ctx context.Context, id, reason string) error {
	err := s.DB.WithContext(ctx).Model(&models.WebhookEndpoint{}).Where("id = ? AND status = ?", id, models.EndpointEnabled).
		Updates(map[string]any{"status": models.EndpointDisabled, "disabled_reason": reason, "updated_at": s.Now()}).Error
	return s.Classify(err)
}

// OldestPendingEvent returns when the oldest event with a pending delivery
// was recorded, or nil when every delivery is settled.
func (s *Store) OldestPendingEvent(ctx context.Context) (*time.Time, error) {
	var e models.Event
	err := s.DB.WithContext(ctx).Raw(`SELECT e.* FROM events e
		WHERE e.seq = (SELECT min(event_seq) FROM webhook_deliveries WHERE status = 'pending')`).Scan(&e).Error
	if err != nil || e.Seq == 0 {
		return nil, s.Classify(err)
	}
	return &e.CreatedAt, nil
}

// PendingDeliveries counts the pending deliveries by the state of their
// endpoint: enabled, breaker_open (open_until after now), disabled or
// deleted. Endpoints are few, so they are counted one by one and their state
// decided here, the same way on both databases.
func (s *Store) PendingDeliveries(ctx context.Context, now time.Time) (map[string]int64, error) {
	var per []struct {
		Status    string
		DeletedAt *time.Time
		OpenUntil *time.Time
		N         int64
	}
	err := s.DB.WithContext(ctx).Raw(`SELECT e.status, e.deleted_at, e.open_until, count(*) AS n
		FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
		WHERE d.status = ? GROUP BY e.id, e.status, e.deleted_at, e.open_until`, models.DeliveryPending).Scan(&per).Error
	if err != nil {
		return nil, s.Classify(err)
	}
	out := map[string]int64{}
	for _, e := range per {
		switch {
		case e.DeletedAt != nil:
			out["deleted"] += e.N
		case e.Status != models.EndpointEnabled:
			out["disabled"] += e.N
		case e.OpenUntil != nil && e.OpenUntil.After(now):
			out["breaker_open"] += e.N
		default:
			out["enabled"] += e.N
		}
	}
	return out, nil
}
