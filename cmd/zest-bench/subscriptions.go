package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zestequity/zest-api/internal/ids"
)

// leanSubscriptionDDL is the least schema that keeps the subscription
// batch's promises: the investor is found by its zestPersonId through its
// User, one subscription per SPV and person decides created or
// already_exists under concurrency, and every created subscription has one
// outbox event.
const leanSubscriptionDDL = `
CREATE TABLE people (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    zest_person_id text NOT NULL UNIQUE, client_id text NOT NULL);
CREATE TABLE users (person_id bigint PRIMARY KEY);
CREATE TABLE subscriptions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_slug text NOT NULL, spv_id bigint NOT NULL, person_id bigint NOT NULL,
    share_class_id bigint NOT NULL, currency text NOT NULL, amount numeric(20, 4) NOT NULL,
    status text NOT NULL, created_at timestamptz NOT NULL,
    UNIQUE (spv_id, person_id));
CREATE TABLE events (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id bigint NOT NULL, payload text NOT NULL, created_at timestamptz NOT NULL);
`

// subscriptionBodies returns the zestPersonIds as 1000-row subscription
// batches to the share class class-a.
func subscriptionBodies(zids []string) [][]byte {
	var out [][]byte
	for start := 0; start < len(zids); start += 1000 {
		var sb strings.Builder
		sb.WriteString(`{"subscriptions":[`)
		for i := start; i < min(start+1000, len(zids)); i++ {
			if i > start {
				sb.WriteByte(',')
			}
			sb.WriteString(`{"zestPersonId":"` + zids[i] + `","shareClassSlug":"class-a","lumpSum":{"currency":"USD","value":"50000.00"}}`)
		}
		sb.WriteString(`]}`)
		out = append(out, []byte(sb.String()))
	}
	return out
}

// httpSubscriptions imports b.c.rows investors (untimed), then subscribes
// them all to one SPV in 1000-row batches from clients clients, and
// measures the subscription batches.
func (b *bench) httpSubscriptions(ctx context.Context, clients int) (batchRun, error) {
	s, srv, done, err := b.fresh(ctx, "ZEST_DISPATCHER=false")
	if err != nil {
		return batchRun{}, err
	}
	defer done()
	if _, _, err := b.drive(ctx, srv, split(bodies("sub", b.c.rows, 1000), 4), nil); err != nil {
		return batchRun{}, err
	}
	if _, err := b.cli(s, "spvs", "create", "bench", "fund-bench", "--name", "Bench fund", "--currency", "USD", "--share-class", "class-a"); err != nil {
		return batchRun{}, err
	}
	rows, err := s.pool.Query(ctx, `SELECT zest_person_id FROM people ORDER BY id`)
	if err != nil {
		return batchRun{}, err
	}
	zids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return batchRun{}, err
	}
	return b.measureBatches(ctx, srv, "/v1/spvs/fund-bench/subscriptions", http.StatusCreated, split(subscriptionBodies(zids), clients), len(zids))
}

// leanSubscriptions writes the same subscriptions with pgx on
// leanSubscriptionDDL, in the server's two statements per batch (find the
// investors through their Users; insert the subscriptions and their events),
// and measures them as a raw run.
func (b *bench) leanSubscriptions(ctx context.Context, clients int) (rawRun, error) {
	s, err := b.emptySchema(ctx)
	if err != nil {
		return rawRun{}, err
	}
	defer s.drop()
	if _, err := s.pool.Exec(ctx, leanSubscriptionDDL); err != nil {
		return rawRun{}, fmt.Errorf("lean subscription schema: %w", err)
	}
	zids := make([]string, b.c.rows)
	for i := range zids {
		zids[i] = ids.Sorted("psn_")
	}
	if _, err := s.pool.Exec(ctx, `
		WITH p AS (INSERT INTO people (zest_person_id, client_id) SELECT z, 'bench' FROM unnest($1::text[]) AS z RETURNING id)
		INSERT INTO users (person_id) SELECT id FROM p`, zids); err != nil {
		return rawRun{}, err
	}
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE people, users`); err != nil {
		return rawRun{}, err
	}
	return measureRaw(len(zids), clients, func(first, n int) error {
		return leanSubscriptionBatch(ctx, s.pool, zids[first:first+n])
	})
}

func leanSubscriptionBatch(ctx context.Context, pool *pgxpool.Pool, zids []string) error {
	rows, err := pool.Query(ctx, `
		SELECT p.id FROM unnest($1::text[]) AS l(zid)
		JOIN people p ON p.zest_person_id = l.zid AND p.client_id = 'bench'
		JOIN users u ON u.person_id = p.id`, zids)
	if err != nil {
		return err
	}
	person, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	if len(person) != len(zids) {
		return fmt.Errorf("lean subscriptions: %d of %d investors found", len(person), len(zids))
	}
	n := len(person)
	slug, payload := make([]string, n), make([]string, n)
	now := time.Now().UTC()
	for i := range n {
		slug[i] = ids.Sorted("sub_")
		payload[i] = `{"type":"subscription.created","timestamp":"` + now.Format(time.RFC3339Nano) + `","data":{"subscriptionSlug":"` + slug[i] +
			`","spvSlug":"fund-bench","personId":"` + zids[i] + `","status":"pending","lumpSum":{"currency":"USD","value":"50000.00"},"shareClassSlug":"class-a"}}`
	}
	_, err = pool.Exec(ctx, `
		WITH ins AS (
			INSERT INTO subscriptions (subscription_slug, spv_id, person_id, share_class_id, currency, amount, status, created_at)
			SELECT r.slug, 1, r.person, 1, 'USD', '50000.00'::numeric, 'pending', $3
			FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS r(slug, person, ord) ORDER BY r.ord
			ON CONFLICT (spv_id, person_id) DO NOTHING
			RETURNING id, person_id
		)
		INSERT INTO events (subscription_id, payload, created_at)
		SELECT ins.id, e.payload, $3 FROM unnest($2::bigint[], $4::text[]) AS e(person, payload) JOIN ins ON ins.person_id = e.person`,
		slug, person, now, payload)
	return err
}
