package sqlite

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/store/gormstore"
	"github.com/zestequity/zest-api/models"
)

// WritePeople inserts the given people that do not exist yet and returns,
// for every partnerInvestorId in lookup (which includes those of people),
// the tenant's person: inserted now, or existing, with whether it has its
// User. New people cost a statement per chunk of rows; known ones a second.
//
// A person whose partnerInvestorId or email is taken is skipped, never
// updated; an id missing from the answer lost its email to another person.
func (s *Store) WritePeople(ctx context.Context, clientID string, people []models.Person, lookup []string) ([]investors.PersonRow, error) {
	people = gormstore.SortedBy(people, func(p models.Person) string { return p.PartnerInvestorID })
	now := s.Now()
	var out []investors.PersonRow
	for part := range slices.Chunk(people, chunk) {
		rows := make([]any, len(part))
		for i, p := range part {
			rows[i] = []any{p.ZestPersonID, clientID, p.PartnerInvestorID, p.Email, p.EmailNormalized,
				p.FirstName, p.LastName, p.DateOfBirth, p.CountryOfResidence, p.KYCManagedBy, p.KYCFlags, now}
		}
		var inserted []investors.PersonRow
		err := s.DB.WithContext(ctx).Raw(`INSERT INTO people (zest_person_id, client_id, partner_investor_id, email, email_normalized,
				first_name, last_name, date_of_birth, country_of_residence, kyc_managed_by, kyc_flags, created_at)
			VALUES `+tuples(len(rows))+`
			ON CONFLICT DO NOTHING RETURNING id, zest_person_id, partner_investor_id, email`, rows...).Scan(&inserted).Error
		if err != nil {
			return out, classify(err)
		}
		for i := range inserted {
			inserted[i].Inserted = true
		}
		out = append(out, inserted...)
	}
	done := make(map[string]bool, len(out))
	for _, r := range out {
		done[r.PartnerInvestorID] = true
	}
	var rest []string
	for _, id := range lookup {
		if !done[id] {
			rest = append(rest, id)
		}
	}
	existing, err := s.findPeople(ctx, clientID, rest)
	return append(out, existing...), err
}

// tuples returns n placeholders, each of which GORM expands into the
// parenthesised values of one row given as []any.
func tuples(n int) string {
	return strings.Repeat(",?", n)[1:]
}

// findPeople returns the tenant's people with the given partnerInvestorIds,
// and whether each already has its User.
func (s *Store) findPeople(ctx context.Context, clientID string, partnerIDs []string) ([]investors.PersonRow, error) {
	var out []investors.PersonRow
	for ids := range slices.Chunk(partnerIDs, chunk) {
		var part []investors.PersonRow
		err := s.DB.WithContext(ctx).Raw(`
			SELECT p.id, p.zest_person_id, p.partner_investor_id, p.email, u.id IS NOT NULL AS has_user
			FROM people p LEFT JOIN users u ON u.person_id = p.id
			WHERE p.client_id = ? AND p.partner_investor_id IN ?`, clientID, ids).Scan(&part).Error
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, part...)
	}
	return out, nil
}

// CompletePairs creates the User of each given person that has none yet and,
// in the same transaction, records the event of each pair it completed (the
// transactional outbox) and queues one delivery of it per enabled webhook
// endpoint of the tenant. It returns the ids of the people whose pair it
// completed: for those people, and only those, an event now exists.
func (s *Store) CompletePairs(ctx context.Context, cs []investors.Completion) ([]int64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	cs = gormstore.SortedBy(cs, func(c investors.Completion) int64 { return c.User.PersonID })
	now := s.Now()
	var completed []int64
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		byPerson := make(map[int64]models.Event, len(cs))
		for part := range slices.Chunk(cs, chunk) {
			rows := make([]any, len(part))
			for i, c := range part {
				u := c.User
				rows[i] = []any{u.PersonID, u.ClientID, u.Email, u.EmailIsVerified, u.OTPMethod, u.Phone, now}
				byPerson[u.PersonID] = c.Event
			}
			var ids []int64
			if err := tx.Raw(`INSERT INTO users (person_id, client_id, email, email_is_verified, otp_method, phone, created_at)
				VALUES `+tuples(len(rows))+`
				ON CONFLICT (person_id) DO NOTHING RETURNING person_id`, rows...).Scan(&ids).Error; err != nil {
				return err
			}
			completed = append(completed, ids...)
		}
		if len(completed) == 0 {
			return nil
		}
		events := make([]models.Event, len(completed))
		for i, id := range completed {
			events[i] = byPerson[id]
			events[i].PersonID = &id
			events[i].CreatedAt = events[i].CreatedAt.UTC()
		}
		if err := tx.CreateInBatches(&events, chunk).Error; err != nil {
			return err
		}
		return queueDeliveries(tx, events, now)
	})
	return completed, classify(err)
}

// queueDeliveries queues a delivery of each event per enabled endpoint of its
// tenant, a chunk of events a statement. Events are matched by event id:
// SQLite does not promise RETURNING's order.
func queueDeliveries(tx *gorm.DB, events []models.Event, now time.Time) error {
	eventIDs := make([]string, len(events))
	for i, e := range events {
		eventIDs[i] = e.EventID
	}
	for ids := range slices.Chunk(eventIDs, chunk) {
		if err := gormstore.QueueDeliveries(tx, ids, now); err != nil {
			return err
		}
	}
	return nil
}
