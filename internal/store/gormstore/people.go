package gormstore

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/models"
)

// paired keeps the people whose User exists. A person is written before its
// User, and a write that died in between leaves a person that downstream
// endpoints cannot resolve: reads must not hand out its zestPersonId until
// the pair is complete.
const paired = "EXISTS (SELECT 1 FROM users u WHERE u.person_id = people.id)"

// PersonByZestID returns the tenant's person with that public id.
func (s *Store) PersonByZestID(ctx context.Context, clientID, zestPersonID string) (models.Person, error) {
	var p models.Person
	err := s.DB.WithContext(ctx).Where("client_id = ? AND zest_person_id = ?", clientID, zestPersonID).Where(paired).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return p, models.ErrNotFound
	}
	return p, s.Classify(err)
}

// ListPeople returns up to q.Limit people after q.AfterID, in id order.
func (s *Store) ListPeople(ctx context.Context, q investors.PeopleQuery) ([]models.Person, error) {
	db := s.DB.WithContext(ctx).Where("client_id = ? AND id > ?", q.ClientID, q.AfterID).Where(paired)
	if q.PartnerInvestorID != nil {
		db = db.Where("partner_investor_id = ?", *q.PartnerInvestorID)
	}
	var out []models.Person
	err := db.Order("id").Limit(q.Limit).Find(&out).Error
	return out, s.Classify(err)
}

// IncompletePeople returns up to limit people, of every tenant, created
// before the given time and still without their User, oldest first.
func (s *Store) IncompletePeople(ctx context.Context, createdBefore time.Time, limit int) ([]models.Person, error) {
	var out []models.Person
	err := s.DB.WithContext(ctx).Where("created_at < ?", createdBefore.UTC()).Where("NOT " + paired).
		Order("id").Limit(limit).Find(&out).Error
	return out, s.Classify(err)
}

// Integrity counts the rows that break the invariants of the investor pair
// and its outbox.
func (s *Store) Integrity(ctx context.Context) (investors.Integrity, error) {
	var r investors.Integrity
	err := s.DB.WithContext(ctx).Raw(`SELECT
		(SELECT count(*) FROM people p WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.person_id = p.id)) AS people_without_user,
		(SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.id = u.person_id)) AS users_without_person,
		(SELECT count(*) FROM events e WHERE e.type = ? AND (e.person_id IS NULL
			OR NOT EXISTS (SELECT 1 FROM people p WHERE p.id = e.person_id))) AS events_without_person,
		(SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM events e
			WHERE e.type = ? AND e.person_id = u.person_id)) AS pairs_without_event,
		(SELECT count(*) FROM webhook_deliveries d WHERE NOT EXISTS (SELECT 1 FROM events e
			WHERE e.seq = d.event_seq)) AS deliveries_without_event,
		(SELECT count(*) FROM (
			SELECT client_id FROM people UNION ALL SELECT client_id FROM users
			UNION ALL SELECT client_id FROM events UNION ALL SELECT client_id FROM subscriptions) r
			WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.client_id = r.client_id)) AS rows_without_tenant,
		(SELECT count(*) FROM subscriptions s WHERE
			NOT EXISTS (SELECT 1 FROM spvs v WHERE v.id = s.spv_id)
			OR NOT EXISTS (SELECT 1 FROM share_classes c WHERE c.id = s.share_class_id)
			OR NOT EXISTS (SELECT 1 FROM people p WHERE p.id = s.person_id)
			OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id)) AS subscriptions_without_parent,
		(SELECT count(*) FROM events e WHERE e.subscription_id IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = e.subscription_id)) AS events_without_subscription,
		(SELECT count(*) FROM webhook_deliveries d WHERE NOT EXISTS (SELECT 1 FROM webhook_endpoints w
			WHERE w.id = d.endpoint_id)) AS deliveries_without_endpoint`,
		models.EventInvestorCreated, models.EventInvestorCreated).Scan(&r).Error
	return r, s.Classify(err)
}
