package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/zestequity/zest-api/internal/webhooks"
)

// ClaimDeliveries leases up to limit due deliveries until leaseUntil.
// Deliveries another dispatcher is claiming are skipped (FOR
// UPDATE SKIP LOCKED), and a lease keeps the others away while the attempt
// runs; a dispatcher that dies leaves its lease to expire, and the delivery
// is attempted again.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]webhooks.ClaimedDelivery, error) {
	now, leaseUntil = now.UTC(), leaseUntil.UTC()
	var out []webhooks.ClaimedDelivery
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Updating open_until is what makes a dispatcher the endpoint's one
		// prober: a concurrent claim finds it moved past now.
		rows, err := tx.Query(ctx, `
			UPDATE webhook_endpoints SET open_until = $2
			WHERE id IN (
				SELECT w.id FROM webhook_endpoints w
				WHERE w.open_until <= $1 AND EXISTS (
					SELECT 1 FROM webhook_deliveries d
					WHERE d.endpoint_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= $1
						AND (d.locked_until IS NULL OR d.locked_until <= $1))
				LIMIT $3
				FOR UPDATE SKIP LOCKED)
			RETURNING id`, now, leaseUntil, limit)
		if err != nil {
			return err
		}
		probes, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `
			WITH due AS (
				SELECT d.id FROM webhook_deliveries d
				WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.locked_until IS NULL OR d.locked_until <= $1)
					AND NOT EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = d.endpoint_id AND w.open_until IS NOT NULL)
				ORDER BY d.next_attempt_at
				LIMIT $3
				FOR UPDATE SKIP LOCKED
			), probe AS (
				SELECT p.id FROM unnest($4::text[]) AS ep(id) CROSS JOIN LATERAL (
					SELECT d.id FROM webhook_deliveries d
					WHERE d.endpoint_id = ep.id AND d.status = 'pending' AND d.next_attempt_at <= $1
						AND (d.locked_until IS NULL OR d.locked_until <= $1)
					ORDER BY d.next_attempt_at
					LIMIT 1
					FOR UPDATE SKIP LOCKED) p
			)
			UPDATE webhook_deliveries d SET locked_until = $2, updated_at = $1
			FROM (SELECT id FROM due UNION ALL SELECT id FROM probe) due, events e, webhook_endpoints w
			WHERE d.id = due.id AND e.seq = d.event_seq AND w.id = d.endpoint_id
			RETURNING d.id, d.attempts, e.seq, e.event_id, e.payload, w.id, w.url, w.secret,
				w.previous_secret, w.previous_secret_expires_at, w.status, w.deleted_at IS NOT NULL, w.consecutive_failures`,
			now, leaseUntil, limit-len(probes), probes)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhooks.ClaimedDelivery, error) {
			var c webhooks.ClaimedDelivery
			err := r.Scan(&c.DeliveryID, &c.Attempts, &c.EventSeq, &c.EventID, &c.Payload, &c.EndpointID, &c.URL, &c.Secret,
				&c.PreviousSecret, &c.PreviousSecretExpiresAt, &c.EndpointStatus, &c.EndpointDeleted, &c.EndpointFailures)
			return c, err
		})
		return err
	})
	return out, classify(err)
}

// RecordDeliveryResults applies the results of attempts, records each
// attempt, and sets the endpoints' breakers, in one statement.
func (s *Store) RecordDeliveryResults(ctx context.Context, results []webhooks.DeliveryResult, breakers []webhooks.Breaker) error {
	if len(results) == 0 {
		return nil
	}
	now := s.Now()
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
	bID, bFailures, bOpen := make([]string, len(breakers)), make([]int32, len(breakers)), make([]*time.Time, len(breakers))
	for i, b := range breakers {
		bID[i], bFailures[i] = b.EndpointID, int32(b.ConsecutiveFailures)
		if b.OpenUntil != nil {
			t := b.OpenUntil.UTC()
			bOpen[i] = &t
		}
	}
	_, err := s.pool.Exec(ctx, `
		WITH breaker AS (
			UPDATE webhook_endpoints w SET consecutive_failures = b.failures, open_until = b.open_until
			FROM unnest($13::text[], $14::int[], $15::timestamptz[]) AS b(id, failures, open_until)
			WHERE w.id = b.id
		), r AS (
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
		id, attempts, attempted, status, next, code, errText, at, latency, seq, endpoint, now, bID, bFailures, bOpen)
	return classify(err)
}
