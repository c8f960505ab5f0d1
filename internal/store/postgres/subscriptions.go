package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/zestequity/zest-api/internal/store/gormstore"
	"github.com/zestequity/zest-api/internal/subscriptions"
	"github.com/zestequity/zest-api/models"
)

// Investors resolves the tenant's zestPersonIds through their Users, one
// index probe per id (see findPeople for why LATERAL and exec mode).
func (s *Store) Investors(ctx context.Context, clientID string, zestPersonIDs []string) ([]subscriptions.Investor, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT p.zest_person_id, p.partner_investor_id, p.id, u.id
		FROM unnest($2::text[]) AS l(zid)
		CROSS JOIN LATERAL (SELECT id, zest_person_id, partner_investor_id FROM people p WHERE p.zest_person_id = l.zid AND p.client_id = $1 OFFSET 0) p
		JOIN users u ON u.person_id = p.id`,
		pgx.QueryExecModeExec, clientID, zestPersonIDs)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscriptions.Investor, error) {
		var inv subscriptions.Investor
		err := r.Scan(&inv.ZestPersonID, &inv.PartnerInvestorID, &inv.PersonID, &inv.UserID)
		return inv, err
	})
	return out, classify(err)
}

// WriteSubscriptions inserts the new subscriptions, their events and the
// events' deliveries in one statement (one transaction), then reads the
// existing subscriptions of the people it did not insert for: two statements
// a batch at most. The unique (spv_id, person_id) index settles concurrent
// batches; rows go in person order so that overlapping batches lock alike.
func (s *Store) WriteSubscriptions(ctx context.Context, spvID int64, subs []subscriptions.NewSubscription) ([]subscriptions.Written, error) {
	subs = gormstore.SortedBy(subs, func(n subscriptions.NewSubscription) int64 { return n.Subscription.PersonID })
	now := s.Now()
	n := len(subs)
	slug, client, currency, amount, evID, evType, payload := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	person, user, class := make([]int64, n), make([]int64, n), make([]int64, n)
	partner := make([]*string, n)
	evAt := make([]time.Time, n)
	for i, ns := range subs {
		sub, e := ns.Subscription, ns.Event
		slug[i], client[i], currency[i], amount[i], partner[i] = sub.SubscriptionSlug, sub.ClientID, sub.Currency, sub.Amount, sub.PartnerSubscriptionID
		person[i], user[i], class[i] = sub.PersonID, sub.UserID, sub.ShareClassID
		evID[i], evType[i], payload[i], evAt[i] = e.EventID, e.Type, e.Payload, e.CreatedAt.UTC()
	}
	var inserted map[int64]int64 // person id → subscription id
	err := s.retryContended(ctx, func() error {
		rows, err := s.pool.Query(ctx, `
			WITH input AS (
				SELECT * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::text[],
					$9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[])
					WITH ORDINALITY AS r(slug, client, person, usr, class, currency, amount, partner, event_id, event_type, payload, event_at, ord)
			), ins AS (
				INSERT INTO subscriptions (subscription_slug, client_id, spv_id, person_id, user_id, share_class_id, currency, amount,
					partner_subscription_id, status, created_at, updated_at)
				SELECT slug, client, $1, person, usr, class, currency, amount::numeric, partner, 'pending', $14, $14 FROM input ORDER BY ord
				ON CONFLICT (spv_id, person_id) DO NOTHING
				RETURNING id, person_id
			), ev AS (
				INSERT INTO events (event_id, client_id, type, subscription_id, payload, created_at)
				SELECT i.event_id, i.client, i.event_type, ins.id, i.payload, i.event_at
				FROM input i JOIN ins ON ins.person_id = i.person ORDER BY i.ord
				RETURNING seq, client_id
			), d AS (`+gormstore.DeliveriesSQL("ev e", "$14")+`)
			SELECT id, person_id FROM ins`,
			spvID, slug, client, person, user, class, currency, amount, partner, evID, evType, payload, evAt, now)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int64, error) {
			var p [2]int64
			err := r.Scan(&p[0], &p[1])
			return p, err
		})
		inserted = make(map[int64]int64, len(ids))
		for _, p := range ids {
			inserted[p[1]] = p[0]
		}
		return err
	})
	if err != nil {
		return nil, classify(err)
	}
	var out []subscriptions.Written
	var rest []int64
	for _, ns := range subs {
		if id, ok := inserted[ns.Subscription.PersonID]; ok {
			sub := ns.Subscription
			sub.ID, sub.CreatedAt, sub.UpdatedAt = id, now, now
			out = append(out, subscriptions.Written{Subscription: sub, Inserted: true})
		} else {
			rest = append(rest, ns.Subscription.PersonID)
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT id, subscription_slug, client_id, spv_id, person_id, user_id, share_class_id, currency, amount::text,
			partner_subscription_id, status, created_at, updated_at, completed_at
		FROM subscriptions WHERE spv_id = $1 AND person_id = ANY($2::bigint[])`,
		pgx.QueryExecModeExec, spvID, rest)
	if err != nil {
		return nil, classify(err)
	}
	existing, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscriptions.Written, error) {
		var w models.Subscription
		err := r.Scan(&w.ID, &w.SubscriptionSlug, &w.ClientID, &w.SPVID, &w.PersonID, &w.UserID, &w.ShareClassID, &w.Currency, &w.Amount,
			&w.PartnerSubscriptionID, &w.Status, &w.CreatedAt, &w.UpdatedAt, &w.CompletedAt)
		return subscriptions.Written{Subscription: w}, err
	})
	return append(out, existing...), classify(err)
}
