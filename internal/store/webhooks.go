package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/zestequity/zest-api/models"
)

// CreateEndpoint stores a new webhook endpoint.
func (s *Store) CreateEndpoint(ctx context.Context, e models.WebhookEndpoint) (models.WebhookEndpoint, error) {
	now := s.nowUTC()
	e.CreatedAt, e.UpdatedAt = now, now
	err := s.db.WithContext(ctx).Create(&e).Error
	return e, classify(err)
}

// Endpoints returns the tenant's endpoints that are not deleted, oldest first.
func (s *Store) Endpoints(ctx context.Context, clientID string) ([]models.WebhookEndpoint, error) {
	var out []models.WebhookEndpoint
	err := s.db.WithContext(ctx).Where("client_id = ? AND deleted_at IS NULL", clientID).
		Order("created_at, id").Find(&out).Error
	return out, classify(err)
}

// Endpoint returns one of the tenant's endpoints that is not deleted.
func (s *Store) Endpoint(ctx context.Context, clientID, id string) (models.WebhookEndpoint, error) {
	var e models.WebhookEndpoint
	err := s.db.WithContext(ctx).Where("client_id = ? AND id = ? AND deleted_at IS NULL", clientID, id).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return e, ErrNotFound
	}
	return e, classify(err)
}

// DeleteEndpoint deletes an endpoint and fails its pending deliveries, in one
// transaction, so that no dispatcher attempts them afterwards.
func (s *Store) DeleteEndpoint(ctx context.Context, clientID, id string) error {
	now := s.nowUTC()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.WebhookEndpoint{}).Where("client_id = ? AND id = ? AND deleted_at IS NULL", clientID, id).
			Updates(map[string]any{"deleted_at": now, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Model(&models.WebhookDelivery{}).Where("endpoint_id = ? AND status = ?", id, models.DeliveryPending).
			Updates(map[string]any{"status": models.DeliveryFailed, "last_error": "endpoint deleted", "locked_until": nil, "updated_at": now}).Error
	})
	return classify(err)
}

// RotateSecret makes secret the endpoint's secret and keeps the previous one
// valid until graceUntil.
func (s *Store) RotateSecret(ctx context.Context, clientID, id, secret string, graceUntil time.Time) (models.WebhookEndpoint, error) {
	var e models.WebhookEndpoint
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.WebhookEndpoint{}).Where("client_id = ? AND id = ? AND deleted_at IS NULL", clientID, id).
			Updates(map[string]any{
				// SET expressions read the row as it was: this keeps the old secret.
				"previous_secret":            gorm.Expr("secret"),
				"previous_secret_expires_at": graceUntil.UTC(),
				"secret":                     secret,
				"updated_at":                 s.nowUTC(),
			})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Where("id = ?", id).Take(&e).Error
	})
	return e, classify(err)
}

// RecoverDeliveries queues again, due now with a fresh schedule, the
// endpoint's failed deliveries of events recorded since then.
func (s *Store) RecoverDeliveries(ctx context.Context, clientID, endpointID string, since time.Time) (int64, error) {
	if _, err := s.Endpoint(ctx, clientID, endpointID); err != nil {
		return 0, err
	}
	now := s.nowUTC()
	res := s.db.WithContext(ctx).Model(&models.WebhookDelivery{}).
		Where("endpoint_id = ? AND status = ?", endpointID, models.DeliveryFailed).
		Where("event_seq IN (SELECT seq FROM events WHERE client_id = ? AND created_at >= ?)", clientID, since.UTC()).
		Updates(map[string]any{
			"status": models.DeliveryPending, "attempts": 0, "next_attempt_at": now,
			"locked_until": nil, "updated_at": now,
		})
	return res.RowsAffected, classify(res.Error)
}

// EventsQuery selects a page of a tenant's events in the order recorded.
type EventsQuery struct {
	ClientID string
	Type     *string
	AfterSeq int64
	Limit    int
}

// Events returns up to q.Limit events after q.AfterSeq.
func (s *Store) Events(ctx context.Context, q EventsQuery) ([]models.Event, error) {
	db := s.db.WithContext(ctx).Where("client_id = ? AND seq > ?", q.ClientID, q.AfterSeq)
	if q.Type != nil {
		db = db.Where("type = ?", *q.Type)
	}
	var out []models.Event
	err := db.Order("seq").Limit(q.Limit).Find(&out).Error
	return out, classify(err)
}

// EventDetail is an event with its deliveries and their attempts.
type EventDetail struct {
	Event      models.Event
	Deliveries []models.WebhookDelivery
	Attempts   []models.WebhookAttempt
}

// Event returns one of the tenant's events, with its deliveries and attempts.
func (s *Store) Event(ctx context.Context, clientID, eventID string) (EventDetail, error) {
	var d EventDetail
	db := s.db.WithContext(ctx)
	err := db.Where("client_id = ? AND event_id = ?", clientID, eventID).Take(&d.Event).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, classify(err)
	}
	if err := db.Where("event_seq = ?", d.Event.Seq).Order("created_at, id").Find(&d.Deliveries).Error; err != nil {
		return d, classify(err)
	}
	err = db.Where("event_seq = ?", d.Event.Seq).Order("attempted_at, id").Find(&d.Attempts).Error
	return d, classify(err)
}

// ClaimedDelivery is a due delivery leased to a dispatcher, with what it
// needs to attempt it.
type ClaimedDelivery struct {
	DeliveryID              int64
	Attempts                int // before this attempt; also the optimistic lock of its result
	EventSeq                int64
	EventID                 string
	Payload                 string
	EndpointID              string
	URL                     string
	Secret                  string
	PreviousSecret          *string
	PreviousSecretExpiresAt *time.Time
	EndpointStatus          string
	EndpointDeleted         bool
}

// ClaimDeliveries leases up to limit due deliveries until leaseUntil. On
// PostgreSQL, deliveries another dispatcher is claiming are skipped (FOR
// UPDATE SKIP LOCKED), and a lease keeps the others away while the attempt
// runs; a dispatcher that dies leaves its lease to expire, and the delivery
// is attempted again.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]ClaimedDelivery, error) {
	now, leaseUntil = now.UTC(), leaseUntil.UTC()
	if s.dialect == Postgres {
		rows, err := s.pool.Query(ctx, `
			WITH due AS (
				SELECT id FROM webhook_deliveries
				WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
				ORDER BY next_attempt_at
				LIMIT $3
				FOR UPDATE SKIP LOCKED
			)
			UPDATE webhook_deliveries d SET locked_until = $2, updated_at = $1
			FROM due, events e, webhook_endpoints w
			WHERE d.id = due.id AND e.seq = d.event_seq AND w.id = d.endpoint_id
			RETURNING d.id, d.attempts, e.seq, e.event_id, e.payload, w.id, w.url, w.secret,
				w.previous_secret, w.previous_secret_expires_at, w.status, w.deleted_at IS NOT NULL`,
			now, leaseUntil, limit)
		if err != nil {
			return nil, classify(err)
		}
		out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ClaimedDelivery, error) {
			var c ClaimedDelivery
			err := r.Scan(&c.DeliveryID, &c.Attempts, &c.EventSeq, &c.EventID, &c.Payload, &c.EndpointID, &c.URL, &c.Secret,
				&c.PreviousSecret, &c.PreviousSecretExpiresAt, &c.EndpointStatus, &c.EndpointDeleted)
			return c, err
		})
		return out, classify(err)
	}
	var out []ClaimedDelivery
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []int64
		if err := tx.Raw(`UPDATE webhook_deliveries SET locked_until = ?, updated_at = ?
			WHERE id IN (SELECT id FROM webhook_deliveries
				WHERE status = 'pending' AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until <= ?)
				ORDER BY next_attempt_at LIMIT ?)
			RETURNING id`, leaseUntil, now, now, now, limit).Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		return tx.Raw(`SELECT d.id AS delivery_id, d.attempts, e.seq AS event_seq, e.event_id, e.payload,
				w.id AS endpoint_id, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at,
				w.status AS endpoint_status, w.deleted_at IS NOT NULL AS endpoint_deleted
			FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq JOIN webhook_endpoints w ON w.id = d.endpoint_id
			WHERE d.id IN ?`, ids).Scan(&out).Error
	})
	return out, classify(err)
}

// DeliveryResult is the outcome of an attempt at a claimed delivery.
type DeliveryResult struct {
	DeliveryID    int64
	Attempts      int  // as claimed: a result for a delivery attempted since is dropped
	Attempted     bool // an HTTP request was made: record the attempt and count it
	Status        string
	NextAttemptAt time.Time // when still pending
	StatusCode    *int
	Error         *string
	AttemptedAt   time.Time
	LatencyMS     int
	EventSeq      int64
	EndpointID    string
}

// RecordDeliveryResults applies the results of attempts, and records each
// attempt, in one statement on PostgreSQL.
func (s *Store) RecordDeliveryResults(ctx context.Context, results []DeliveryResult) error {
	if len(results) == 0 {
		return nil
	}
	now := s.nowUTC()
	if s.dialect == Postgres {
		n := len(results)
		id, seq := make([]int64, n), make([]int64, n)
		attempts, code, latency := make([]int32, n), make([]*int32, n), make([]int32, n)
		attempted := make([]bool, n)
		status, endpoint := make([]string, n), make([]string, n)
		errText := make([]*string, n)
		next, at := make([]time.Time, n), make([]time.Time, n)
		for i, r := range results {
			id[i], seq[i], attempts[i], latency[i], attempted[i] = r.DeliveryID, r.EventSeq, int32(r.Attempts), int32(r.LatencyMS), r.Attempted
			status[i], endpoint[i], errText[i] = r.Status, r.EndpointID, r.Error
			next[i], at[i] = r.NextAttemptAt.UTC(), r.AttemptedAt.UTC()
			if r.StatusCode != nil {
				c := int32(*r.StatusCode)
				code[i] = &c
			}
		}
		_, err := s.pool.Exec(ctx, `
			WITH r AS (
				SELECT * FROM unnest($1::bigint[], $2::int[], $3::bool[], $4::text[], $5::timestamptz[], $6::int[],
					$7::text[], $8::timestamptz[], $9::int[], $10::bigint[], $11::text[])
					AS r(id, attempts, attempted, status, next_attempt_at, code, err, attempted_at, latency_ms, event_seq, endpoint_id)
			), upd AS (
				UPDATE webhook_deliveries d SET
					status = r.status,
					attempts = d.attempts + CASE WHEN r.attempted THEN 1 ELSE 0 END,
					next_attempt_at = r.next_attempt_at,
					locked_until = NULL,
					last_status_code = r.code,
					last_error = r.err,
					delivered_at = CASE WHEN r.status = 'succeeded' THEN r.attempted_at END,
					updated_at = $12
				FROM r WHERE d.id = r.id AND d.attempts = r.attempts AND d.status = 'pending'
			)
			INSERT INTO webhook_attempts (delivery_id, event_seq, endpoint_id, attempted_at, status_code, latency_ms, error)
			SELECT id, event_seq, endpoint_id, attempted_at, code, latency_ms, err FROM r WHERE attempted`,
			id, attempts, attempted, status, next, code, errText, at, latency, seq, endpoint, now)
		return classify(err)
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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

// DisableEndpoint stops deliveries to an endpoint, giving the reason.
func (s *Store) DisableEndpoint(ctx context.Context, id, reason string) error {
	err := s.db.WithContext(ctx).Model(&models.WebhookEndpoint{}).Where("id = ? AND status = ?", id, models.EndpointEnabled).
		Updates(map[string]any{"status": models.EndpointDisabled, "disabled_reason": reason, "updated_at": s.nowUTC()}).Error
	return classify(err)
}

// OldestPendingEvent returns when the oldest event with a pending delivery
// was recorded, or nil when every delivery is settled.
func (s *Store) OldestPendingEvent(ctx context.Context) (*time.Time, error) {
	var e models.Event
	err := s.db.WithContext(ctx).Raw(`SELECT e.* FROM events e
		WHERE e.seq = (SELECT min(event_seq) FROM webhook_deliveries WHERE status = 'pending')`).Scan(&e).Error
	if err != nil || e.Seq == 0 {
		return nil, classify(err)
	}
	return &e.CreatedAt, nil
}
