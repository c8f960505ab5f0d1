package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/zestequity/zest-api/models"
)

// PersonRow is what an import needs to know about a person of the batch.
type PersonRow struct {
	ID                int64
	ZestPersonID      string
	PartnerInvestorID string
	Email             string
	HasUser           bool
	Inserted          bool // written by this call; otherwise it existed
}

// sqliteChunk bounds the rows per SQLite statement, far below its limit of
// 32766 bound parameters.
const sqliteChunk = 500

// WritePeople inserts the given people that do not exist yet and returns,
// for every partnerInvestorId in lookup (which includes those of people),
// the tenant's person: inserted now, or existing, with whether it has its
// User. A batch of new people is one statement; known ones cost a second.
//
// A person whose partnerInvestorId or email is taken is skipped, never
// updated; an id missing from the answer lost its email to another person.
// The known people are read after the insert, so that those a concurrent
// request inserted first (the insert waits for them) are read too. Rows are
// inserted in partnerInvestorId order so that overlapping concurrent batches
// take their locks in the same order.
func (s *Store) WritePeople(ctx context.Context, clientID string, people []models.Person, lookup []string) ([]PersonRow, error) {
	people = sortedBy(people, func(p models.Person) string { return p.PartnerInvestorID })
	insert := s.insertPeopleSQLite
	if s.dialect == Postgres {
		insert = s.insertPeoplePG
	}
	out, err := insert(ctx, clientID, people, s.nowUTC())
	if err != nil {
		return nil, err
	}
	inserted := make(map[string]bool, len(out))
	for _, r := range out {
		inserted[r.PartnerInvestorID] = true
	}
	var rest []string
	for _, id := range lookup {
		if !inserted[id] {
			rest = append(rest, id)
		}
	}
	existing, err := s.FindPeople(ctx, clientID, rest)
	return append(out, existing...), err
}

// insertPeoplePG inserts people in one statement and returns those it
// inserted.
func (s *Store) insertPeoplePG(ctx context.Context, clientID string, people []models.Person, now time.Time) ([]PersonRow, error) {
	n := len(people)
	var (
		zid, pid, email, norm, first, last, dob, managed, flags = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		country                                                 = make([]*string, n)
	)
	for i, p := range people {
		f, err := p.KYCFlags.Value()
		if err != nil {
			return nil, err
		}
		zid[i], pid[i], email[i], norm[i] = p.ZestPersonID, p.PartnerInvestorID, p.Email, p.EmailNormalized
		first[i], last[i], dob[i], managed[i], flags[i] = p.FirstName, p.LastName, string(p.DateOfBirth), p.KYCManagedBy, f.(string)
		country[i] = p.CountryOfResidence
	}
	// The unique indexes sort out the people that exist already.
	var out []PersonRow
	err := retryContended(ctx, func() error {
		rows, err := s.pool.Query(ctx, `
			INSERT INTO people (zest_person_id, client_id, partner_investor_id, email, email_normalized,
				first_name, last_name, date_of_birth, country_of_residence, kyc_managed_by, kyc_flags, created_at)
			SELECT r.zid, $1, r.pid, r.email, r.norm, r.first, r.last, r.dob::date, r.country, r.managed, r.flags, $12
			FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::text[], $10::text[], $11::text[])
				WITH ORDINALITY AS r(zid, pid, email, norm, first, last, dob, country, managed, flags, ord)
			ORDER BY r.ord
			ON CONFLICT DO NOTHING
			RETURNING id, zest_person_id, partner_investor_id, email, false, true`,
			clientID, zid, pid, email, norm, first, last, dob, country, managed, flags, now)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanPersonRow)
		return err
	})
	return out, classify(err)
}

func scanPersonRow(r pgx.CollectableRow) (PersonRow, error) {
	var p PersonRow
	err := r.Scan(&p.ID, &p.ZestPersonID, &p.PartnerInvestorID, &p.Email, &p.HasUser, &p.Inserted)
	return p, err
}

// insertPeopleSQLite inserts people, a chunk a statement, and returns those
// it inserted.
func (s *Store) insertPeopleSQLite(ctx context.Context, clientID string, people []models.Person, now time.Time) ([]PersonRow, error) {
	var out []PersonRow
	for chunk := range slices.Chunk(people, sqliteChunk) {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO people (zest_person_id, client_id, partner_investor_id, email, email_normalized,
			first_name, last_name, date_of_birth, country_of_residence, kyc_managed_by, kyc_flags, created_at) VALUES `)
		args := make([]any, 0, len(chunk)*12)
		for i, p := range chunk {
			if i > 0 {
				sb.WriteString(",")
			}
			sb.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?)")
			args = append(args, p.ZestPersonID, clientID, p.PartnerInvestorID, p.Email, p.EmailNormalized,
				p.FirstName, p.LastName, p.DateOfBirth, p.CountryOfResidence, p.KYCManagedBy, p.KYCFlags, now)
		}
		sb.WriteString(" ON CONFLICT DO NOTHING RETURNING id, zest_person_id, partner_investor_id, email")
		var part []PersonRow
		if err := s.db.WithContext(ctx).Raw(sb.String(), args...).Scan(&part).Error; err != nil {
			return out, classify(err)
		}
		for i := range part {
			part[i].Inserted = true
		}
		out = append(out, part...)
	}
	return out, nil
}

// FindPeople returns the tenant's people with the given partnerInvestorIds,
// and whether each already has its User.
//
// Each id is looked up on its own (a LATERAL subquery the planner cannot
// flatten into a join; scalar subqueries, which it cannot hash), so that the
// unique indexes are probed once per id whatever the tables' size or
// statistics: planned as a join, with EXISTS, or with = ANY(array), a batch
// may read all of the tenant's people or all users instead, which the
// planner does choose for tables without statistics yet.
//
// The lookup is planned on every run for the ids at hand
// (QueryExecModeExec): once pgx has prepared a statement, PostgreSQL may
// switch it to a generic plan after five runs, and for these lookups a
// generic plan was measured taking seconds per 1000 ids, growing with the
// table, where the plan for the actual ids takes a few milliseconds.
// (Forcing custom plans for the whole session instead would replan every
// foreign-key check.)
func (s *Store) FindPeople(ctx context.Context, clientID string, partnerIDs []string) ([]PersonRow, error) {
	if len(partnerIDs) == 0 {
		return nil, nil
	}
	if s.dialect == Postgres {
		rows, err := s.pool.Query(ctx, `
			SELECT p.id, p.zest_person_id, p.partner_investor_id, p.email,
				(SELECT u.id FROM users u WHERE u.person_id = p.id) IS NOT NULL, false
			FROM unnest($2::text[]) AS l(pid)
			CROSS JOIN LATERAL (SELECT * FROM people p WHERE p.client_id = $1 AND p.partner_investor_id = l.pid OFFSET 0) p`,
			pgx.QueryExecModeExec, clientID, partnerIDs)
		if err != nil {
			return nil, classify(err)
		}
		out, err := pgx.CollectRows(rows, scanPersonRow)
		return out, classify(err)
	}
	var out []PersonRow
	for chunk := range slices.Chunk(partnerIDs, sqliteChunk) {
		var part []PersonRow
		err := s.db.WithContext(ctx).Raw(`
			SELECT p.id, p.zest_person_id, p.partner_investor_id, p.email, u.id IS NOT NULL AS has_user
			FROM people p LEFT JOIN users u ON u.person_id = p.id
			WHERE p.client_id = ? AND p.partner_investor_id IN ?`, clientID, chunk).Scan(&part).Error
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, part...)
	}
	return out, nil
}

// sortedBy returns a copy of rows in key order. It sorts indexes, not the
// rows: a row is a few hundred bytes, and a batch a thousand rows.
func sortedBy[T any, K cmp.Ordered](rows []T, key func(T) K) []T {
	order := make([]int, len(rows))
	keys := make([]K, len(rows))
	for i, r := range rows {
		order[i], keys[i] = i, key(r)
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
	out := make([]T, len(rows))
	for i, j := range order {
		out[i] = rows[j]
	}
	return out
}

// Completion is a person whose pair may be completed, with the event to
// record if this completes it.
type Completion struct {
	User  models.User
	Event models.Event // its PersonID is User.PersonID
}

// CompletePairs creates the User of each given person that has none yet and,
// in the same transaction, records the event of each pair it completed (the
// transactional outbox) and queues one delivery of it per enabled webhook
// endpoint of the tenant. It returns the ids of the people whose pair it
// completed: for those people, and only those, an event now exists.
func (s *Store) CompletePairs(ctx context.Context, cs []Completion) ([]int64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	cs = sortedBy(cs, func(c Completion) int64 { return c.User.PersonID })
	now := s.nowUTC()
	if s.dialect == Postgres {
		return s.completePairsPG(ctx, cs, now)
	}
	return s.completePairsSQLite(ctx, cs, now)
}

// completePairsPG does it all in one statement, hence one transaction: the
// data-modifying CTEs each see the rows the previous one returned.
func (s *Store) completePairsPG(ctx context.Context, cs []Completion, now time.Time) ([]int64, error) {
	n := len(cs)
	person, client, email, otp, phone := make([]int64, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	verified := make([]bool, n)
	evID, evType, evPayload := make([]string, n), make([]string, n), make([]string, n)
	evAt := make([]time.Time, n)
	for i, c := range cs {
		u, e := c.User, c.Event
		person[i], client[i], email[i], verified[i], otp[i], phone[i] = u.PersonID, u.ClientID, u.Email, u.EmailIsVerified, u.OTPMethod, u.Phone
		evID[i], evType[i], evPayload[i], evAt[i] = e.EventID, e.Type, e.Payload, e.CreatedAt.UTC()
	}
	var completed []int64
	err := retryContended(ctx, func() error {
		rows, err := s.pool.Query(ctx, `
			WITH input AS (
				SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::text[],
					$7::text[], $8::text[], $9::text[], $10::timestamptz[])
					WITH ORDINALITY AS r(person, client, email, verified, otp, phone, event_id, event_type, payload, event_at, ord)
			), u AS (
				INSERT INTO users (person_id, client_id, email, email_is_verified, otp_method, phone, created_at)
				SELECT person, client, email, verified, otp, phone, $11 FROM input ORDER BY ord
				ON CONFLICT (person_id) DO NOTHING
				RETURNING person_id
			), ev AS (
				INSERT INTO events (event_id, client_id, type, person_id, payload, created_at)
				SELECT i.event_id, i.client, i.event_type, i.person, i.payload, i.event_at
				FROM input i JOIN u ON u.person_id = i.person ORDER BY i.ord
				RETURNING seq, client_id
			), d AS (
				INSERT INTO webhook_deliveries (event_seq, endpoint_id, status, attempts, next_attempt_at, created_at, updated_at)
				SELECT ev.seq, w.id, 'pending', 0, $11, $11, $11
				FROM ev JOIN webhook_endpoints w ON w.client_id = ev.client_id AND w.status = 'enabled' AND w.deleted_at IS NULL
			)
			SELECT person_id FROM u`,
			person, client, email, verified, otp, phone, evID, evType, evPayload, evAt, now)
		if err != nil {
			return err
		}
		completed, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	return completed, classify(err)
}

func (s *Store) completePairsSQLite(ctx context.Context, cs []Completion, now time.Time) ([]int64, error) {
	var completed []int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		byPerson := make(map[int64]models.Event, len(cs))
		for chunk := range slices.Chunk(cs, sqliteChunk) {
			var sb strings.Builder
			sb.WriteString(`INSERT INTO users (person_id, client_id, email, email_is_verified, otp_method, phone, created_at) VALUES `)
			args := make([]any, 0, len(chunk)*7)
			for i, c := range chunk {
				if i > 0 {
					sb.WriteString(",")
				}
				sb.WriteString("(?,?,?,?,?,?,?)")
				u := c.User
				args = append(args, u.PersonID, u.ClientID, u.Email, u.EmailIsVerified, u.OTPMethod, u.Phone, now)
				byPerson[u.PersonID] = c.Event
			}
			sb.WriteString(" ON CONFLICT (person_id) DO NOTHING RETURNING person_id")
			var part []int64
			if err := tx.Raw(sb.String(), args...).Scan(&part).Error; err != nil {
				return err
			}
			completed = append(completed, part...)
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
		if err := tx.CreateInBatches(&events, sqliteChunk).Error; err != nil {
			return err
		}
		// Matched by event id: SQLite does not promise RETURNING's order.
		eventIDs := make([]string, len(events))
		for i, e := range events {
			eventIDs[i] = e.EventID
		}
		for chunk := range slices.Chunk(eventIDs, sqliteChunk) {
			if err := tx.Exec(`INSERT INTO webhook_deliveries (event_seq, endpoint_id, status, attempts, next_attempt_at, created_at, updated_at)
				SELECT e.seq, w.id, 'pending', 0, ?, ?, ?
				FROM events e JOIN webhook_endpoints w ON w.client_id = e.client_id AND w.status = 'enabled' AND w.deleted_at IS NULL
				WHERE e.event_id IN ?`, now, now, now, chunk).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return completed, classify(err)
}

// PersonByZestID returns the tenant's person with that public id.
func (s *Store) PersonByZestID(ctx context.Context, clientID, zestPersonID string) (models.Person, error) {
	var p models.Person
	err := s.db.WithContext(ctx).Where("client_id = ? AND zest_person_id = ?", clientID, zestPersonID).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return p, ErrNotFound
	}
	return p, classify(err)
}

// PeopleQuery selects a page of a tenant's people in creation order.
type PeopleQuery struct {
	ClientID          string
	PartnerInvestorID *string // exact match when set
	AfterID           int64   // keyset cursor: people with a larger id
	Limit             int
}

// ListPeople returns up to q.Limit people after q.AfterID, in id order.
func (s *Store) ListPeople(ctx context.Context, q PeopleQuery) ([]models.Person, error) {
	db := s.db.WithContext(ctx).Where("client_id = ? AND id > ?", q.ClientID, q.AfterID)
	if q.PartnerInvestorID != nil {
		db = db.Where("partner_investor_id = ?", *q.PartnerInvestorID)
	}
	var out []models.Person
	err := db.Order("id").Limit(q.Limit).Find(&out).Error
	return out, classify(err)
}
