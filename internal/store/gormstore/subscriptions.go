package gormstore

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/zestequity/zest-api/internal/subscriptions"
	"github.com/zestequity/zest-api/models"
)

// CreateSPV creates an SPV and its share classes in one transaction.
func (s *Store) CreateSPV(ctx context.Context, spv models.SPV, classes []models.ShareClass) error {
	spv.CreatedAt = s.Now()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tenantExists(tx, spv.ClientID); err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&spv)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.ErrExists
		}
		for i := range classes {
			classes[i].SPVID = spv.ID
		}
		return tx.Create(&classes).Error
	})
	if errors.Is(err, models.ErrExists) || errors.Is(err, models.ErrNotFound) {
		return err
	}
	return s.Classify(err)
}

// SPVs returns the tenant's SPVs in creation order, with their share classes.
func (s *Store) SPVs(ctx context.Context, clientID string) ([]subscriptions.SPV, error) {
	var spvs []models.SPV
	if err := s.DB.WithContext(ctx).Where("client_id = ?", clientID).Order("id").Find(&spvs).Error; err != nil {
		return nil, s.Classify(err)
	}
	return s.withClasses(ctx, spvs)
}

// SPVBySlug returns the SPV with its share classes.
func (s *Store) SPVBySlug(ctx context.Context, slug string) (subscriptions.SPV, error) {
	var spv models.SPV
	err := s.DB.WithContext(ctx).Where("slug = ?", slug).Take(&spv).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return subscriptions.SPV{}, models.ErrNotFound
	}
	if err != nil {
		return subscriptions.SPV{}, s.Classify(err)
	}
	out, err := s.withClasses(ctx, []models.SPV{spv})
	if err != nil {
		return subscriptions.SPV{}, err
	}
	return out[0], nil
}

func (s *Store) withClasses(ctx context.Context, spvs []models.SPV) ([]subscriptions.SPV, error) {
	if len(spvs) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(spvs))
	for i, v := range spvs {
		ids[i] = v.ID
	}
	var classes []models.ShareClass
	if err := s.DB.WithContext(ctx).Where("spv_id IN ?", ids).Order("id").Find(&classes).Error; err != nil {
		return nil, s.Classify(err)
	}
	out := make([]subscriptions.SPV, len(spvs))
	index := make(map[int64]int, len(spvs))
	for i, v := range spvs {
		out[i] = subscriptions.SPV{SPV: v, ShareClasses: []models.ShareClass{}}
		index[v.ID] = i
	}
	for _, c := range classes {
		i := index[c.SPVID]
		out[i].ShareClasses = append(out[i].ShareClasses, c)
	}
	return out, nil
}

// CloseSPV closes the SPV; closing a closed SPV changes nothing.
func (s *Store) CloseSPV(ctx context.Context, slug string, at time.Time) error {
	var spv models.SPV
	err := s.DB.WithContext(ctx).Where("slug = ?", slug).Take(&spv).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.ErrNotFound
	}
	if err != nil {
		return s.Classify(err)
	}
	err = s.DB.WithContext(ctx).Model(&models.SPV{}).Where("id = ? AND status = ?", spv.ID, models.SPVOpen).
		Updates(map[string]any{"status": models.SPVClosed, "closed_at": at.UTC()}).Error
	return s.Classify(err)
}

// subscriptionColumns reads a subscription as partners see it. CAST makes
// PostgreSQL's numeric a string, exactly, on both databases.
const subscriptionColumns = `SELECT s.id, s.subscription_slug, v.slug AS spv_slug, p.zest_person_id AS person_id, s.status,
	s.currency, CAST(s.amount AS TEXT) AS amount, c.slug AS share_class_slug, s.partner_subscription_id,
	s.created_at, s.completed_at
	FROM subscriptions s
	JOIN spvs v ON v.id = s.spv_id
	JOIN people p ON p.id = s.person_id
	JOIN share_classes c ON c.id = s.share_class_id`

// ListSubscriptions returns up to q.Limit subscriptions of the SPV after
// q.AfterID, in id order.
func (s *Store) ListSubscriptions(ctx context.Context, q subscriptions.Query) ([]subscriptions.Subscription, error) {
	sql, args := subscriptionColumns+` WHERE s.spv_id = ? AND s.id > ?`, []any{q.SPVID, q.AfterID}
	if q.Status != nil {
		sql, args = sql+` AND s.status = ?`, append(args, *q.Status)
	}
	var out []subscriptions.Subscription
	err := s.DB.WithContext(ctx).Raw(sql+` ORDER BY s.id LIMIT ?`, append(args, q.Limit)...).Scan(&out).Error
	return out, s.Classify(err)
}

// SubscriptionByPerson returns the person's subscription to the SPV.
func (s *Store) SubscriptionByPerson(ctx context.Context, spvID int64, zestPersonID string) (subscriptions.Subscription, error) {
	var out []subscriptions.Subscription
	err := s.DB.WithContext(ctx).Raw(subscriptionColumns+` WHERE s.spv_id = ? AND p.zest_person_id = ?`, spvID, zestPersonID).Scan(&out).Error
	if err != nil {
		return subscriptions.Subscription{}, s.Classify(err)
	}
	if len(out) == 0 {
		return subscriptions.Subscription{}, models.ErrNotFound
	}
	return out[0], nil
}

// CompleteSubscription marks the subscription completed and records ev, and
// queues its deliveries, in one transaction; a subscription completed
// already is left as it is.
func (s *Store) CompleteSubscription(ctx context.Context, subscriptionID int64, ev models.Event) (bool, error) {
	done := false
	now := s.Now()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		at := ev.CreatedAt.UTC()
		res := tx.Model(&models.Subscription{}).Where("id = ? AND status <> ?", subscriptionID, models.SubscriptionCompleted).
			Updates(map[string]any{"status": models.SubscriptionCompleted, "completed_at": at, "updated_at": now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		ev.CreatedAt = at
		if err := tx.Create(&ev).Error; err != nil {
			return err
		}
		done = true
		return QueueDeliveries(tx, []string{ev.EventID}, now)
	})
	return done, s.Classify(err)
}

// QueueDeliveries queues a delivery of each event per enabled endpoint of
// its tenant.
func QueueDeliveries(tx *gorm.DB, eventIDs []string, now time.Time) error {
	return tx.Exec(DeliveriesSQL("events e", "?")+` WHERE e.event_id IN ?`, now, now, now, eventIDs).Error
}

// DeliveriesSQL is the outbox's fan-out, for every driver: it queues a
// delivery of each event of events, a FROM item aliased e with the events'
// seq and client_id (the events table, or a CTE of the events just
// inserted), per enabled endpoint of the event's tenant. now is the
// placeholder of the time, which the statement uses three times.
func DeliveriesSQL(events, now string) string {
	return `INSERT INTO webhook_deliveries (event_seq, endpoint_id, status, attempts, next_attempt_at, created_at, updated_at)
		SELECT e.seq, w.id, 'pending', 0, ` + now + `, ` + now + `, ` + now + `
		FROM ` + events + ` JOIN webhook_endpoints w ON w.client_id = e.client_id AND w.status = 'enabled' AND w.deleted_at IS NULL`
}

// RecordDocument moves the subscription to status, provided its status is
// one of from, and records doc and ev (with ev's deliveries) in the same
// transaction; it reports false, writing nothing, when the status was not
// one of from.
func (s *Store) RecordDocument(ctx context.Context, doc models.SubscriptionDocument, from []string, status string, ev models.Event) (bool, error) {
	done := false
	now := s.Now()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.Subscription{}).Where("id = ? AND status IN ?", doc.SubscriptionID, from).
			Updates(map[string]any{"status": status, "updated_at": now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		doc.UploadedAt = doc.UploadedAt.UTC()
		if err := tx.Create(&doc).Error; err != nil {
			return err
		}
		ev.CreatedAt = ev.CreatedAt.UTC()
		if err := tx.Create(&ev).Error; err != nil {
			return err
		}
		done = true
		return QueueDeliveries(tx, []string{ev.EventID}, now)
	})
	return done, s.Classify(err)
}

// Documents returns the subscription's documents in upload order.
func (s *Store) Documents(ctx context.Context, subscriptionID int64) ([]models.SubscriptionDocument, error) {
	var out []models.SubscriptionDocument
	err := s.DB.WithContext(ctx).Raw(`SELECT id, subscription_id, kind, blob_key, sha256, size, media_type,
		CAST(amount AS TEXT) AS amount, currency, wire_reference, uploaded_at
		FROM subscription_documents WHERE subscription_id = ? ORDER BY id`, subscriptionID).Scan(&out).Error
	return out, s.Classify(err)
}

// ReferencedBlobKeys returns those of keys that are a document's blob key.
func (s *Store) ReferencedBlobKeys(ctx context.Context, keys []string) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	var out []string
	err := s.DB.WithContext(ctx).Raw(`SELECT blob_key FROM subscription_documents WHERE blob_key IN ?`, keys).Scan(&out).Error
	return out, s.Classify(err)
}
