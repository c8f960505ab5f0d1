package sqlite

import (
	"context"
	"slices"

	"gorm.io/gorm"

	"github.com/zestequity/zest-api/internal/store/gormstore"
	"github.com/zestequity/zest-api/internal/subscriptions"
	"github.com/zestequity/zest-api/models"
)

// Investors resolves the tenant's zestPersonIds through their Users.
func (s *Store) Investors(ctx context.Context, clientID string, zestPersonIDs []string) ([]subscriptions.Investor, error) {
	var out []subscriptions.Investor
	for ids := range slices.Chunk(zestPersonIDs, chunk) {
		var part []subscriptions.Investor
		err := s.DB.WithContext(ctx).Raw(`
			SELECT p.zest_person_id, p.partner_investor_id, p.id AS person_id, u.id AS user_id
			FROM people p JOIN users u ON u.person_id = p.id
			WHERE p.client_id = ? AND p.zest_person_id IN ?`, clientID, ids).Scan(&part).Error
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, part...)
	}
	return out, nil
}

// WriteSubscriptions inserts the new subscriptions, their events and the
// events' deliveries, and reads the existing subscriptions of the other
// people, in one transaction, a statement per chunk of rows.
func (s *Store) WriteSubscriptions(ctx context.Context, spvID int64, subs []subscriptions.NewSubscription) ([]subscriptions.Written, error) {
	subs = gormstore.SortedBy(subs, func(n subscriptions.NewSubscription) int64 { return n.Subscription.PersonID })
	now := s.Now()
	var out []subscriptions.Written
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		inserted := map[int64]int64{}
		for part := range slices.Chunk(subs, chunk) {
			rows := make([]any, len(part))
			for i, ns := range part {
				u := ns.Subscription
				rows[i] = []any{u.SubscriptionSlug, u.ClientID, spvID, u.PersonID, u.UserID, u.ShareClassID, u.Currency, u.Amount,
					u.PartnerSubscriptionID, models.SubscriptionPending, now, now}
			}
			var ids []struct{ ID, PersonID int64 }
			if err := tx.Raw(`INSERT INTO subscriptions (subscription_slug, client_id, spv_id, person_id, user_id, share_class_id,
					currency, amount, partner_subscription_id, status, created_at, updated_at)
				VALUES `+tuples(len(rows))+`
				ON CONFLICT (spv_id, person_id) DO NOTHING RETURNING id, person_id`, rows...).Scan(&ids).Error; err != nil {
				return err
			}
			for _, r := range ids {
				inserted[r.PersonID] = r.ID
			}
		}
		var events []models.Event
		var rest []int64
		for _, ns := range subs {
			id, ok := inserted[ns.Subscription.PersonID]
			if !ok {
				rest = append(rest, ns.Subscription.PersonID)
				continue
			}
			sub := ns.Subscription
			sub.ID, sub.Status, sub.CreatedAt, sub.UpdatedAt = id, models.SubscriptionPending, now, now
			out = append(out, subscriptions.Written{Subscription: sub, Inserted: true})
			ev := ns.Event
			ev.SubscriptionID, ev.CreatedAt = &sub.ID, ev.CreatedAt.UTC()
			events = append(events, ev)
		}
		if len(events) > 0 {
			if err := tx.CreateInBatches(&events, chunk).Error; err != nil {
				return err
			}
			if err := queueDeliveries(tx, events, now); err != nil {
				return err
			}
		}
		for ids := range slices.Chunk(rest, chunk) {
			var existing []models.Subscription
			if err := tx.Where("spv_id = ? AND person_id IN ?", spvID, ids).Find(&existing).Error; err != nil {
				return err
			}
			for _, e := range existing {
				out = append(out, subscriptions.Written{Subscription: e})
			}
		}
		return nil
	})
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}
