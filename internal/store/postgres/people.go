package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/store/gormstore"
	"github.com/zestequity/zest-api/models"
)

// WritePeople inserts the given people that do not exist yet and returns,
// for every partnerInvestorId in lookup (which includes those of people),
// the tenant's person: inserted now, or existing, with whether it has its
// User.
//
// A batch is nearly always all new (a first import) or all known (its
// retry), and each is cheapest in its own order: new people are inserted
// in one statement, and only those it skipped are read after; known people
// are read in one statement, and there is nothing left to insert. One index
// probe for the batch's first person picks the order. Either order returns
// the same rows: the people read before the insert are those that existed,
// and those read after it include any a concurrent request inserted first
// (the insert waits for them).
//
// A person whose partnerInvestorId or email is taken is skipped, never
// updated; an id missing from the answer lost its email to another person.
func (s *Store) WritePeople(ctx context.Context, clientID string, people []models.Person, lookup []string) ([]investors.PersonRow, error) {
	people = gormstore.SortedBy(people, func(p models.Person) string { return p.PartnerInvestorID })
	var out []investors.PersonRow
	answered := make(map[string]bool, len(lookup))
	answer := func(rows []investors.PersonRow) {
		out = append(out, rows...)
		for _, r := range rows {
			answered[r.PartnerInvestorID] = true
		}
	}
	if len(people) > 0 {
		var known bool
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM people WHERE client_id = $1 AND partner_investor_id = $2)`,
			clientID, people[0].PartnerInvestorID).Scan(&known)
		if err != nil {
			return nil, classify(err)
		}
		if known {
			rows, err := s.findPeople(ctx, clientID, lookup)
			if err != nil {
				return nil, err
			}
			answer(rows)
			people = slices.DeleteFunc(people, func(p models.Person) bool { return answered[p.PartnerInvestorID] })
		}
	}
	if len(people) > 0 {
		rows, err := s.insertPeople(ctx, clientID, people, s.Now())
		if err != nil {
			return nil, err
		}
		answer(rows)
	}
	var rest []string
	for _, id := range lookup {
		if !answered[id] {
			rest = append(rest, id)
		}
	}
	existing, err := s.findPeople(ctx, clientID, rest)
	return append(out, existing...), err
}

// insertPeople inserts people in one statement and returns those it
// inserted.
func (s *Store) insertPeople(ctx context.Context, clientID string, people []models.Person, now time.Time) ([]investors.PersonRow, error) {
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
	// The unique indexes sort out the people that exist already. A row
	// conflicts on its partnerInvestorId or on its email, so two batches
	// inserting in any one order of rows could still wait on each other in
	// opposite orders, and deadlock. Before inserting, the statement takes a
	// transaction-scoped advisory lock per key, both kinds, in the order of
	// the lock ids: overlapping batches queue on their first shared key
	// instead. The locks end with the statement's transaction.
	var out []investors.PersonRow
	err := s.retryContended(ctx, func() error {
		rows, err := s.pool.Query(ctx, `
			WITH locked AS (
				SELECT count(pg_advisory_xact_lock(k.id)) FROM (
					SELECT DISTINCT hashtextextended($1 || ':' || key, 0) AS id
					FROM (SELECT 'p:' || x FROM unnest($3::text[]) x UNION ALL SELECT 'e:' || x FROM unnest($5::text[]) x) keys(key)
					ORDER BY id
				) k
			)
			INSERT INTO people (zest_person_id, client_id, partner_investor_id, email, email_normalized,
				first_name, last_name, date_of_birth, country_of_residence, kyc_managed_by, kyc_flags, created_at)
			SELECT r.zid, $1, r.pid, r.email, r.norm, r.first, r.last, r.dob::date, r.country, r.managed, r.flags, $12
			FROM locked, unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
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

func scanPersonRow(r pgx.CollectableRow) (investors.PersonRow, error) {
	var p investors.PersonRow
	err := r.Scan(&p.ID, &p.ZestPersonID, &p.PartnerInvestorID, &p.Email, &p.HasUser, &p.Inserted)
	return p, err
}

// findPeople returns the tenant's people with the given partnerInvestorIds,
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
func (s *Store) findPeople(ctx context.Context, clientID string, partnerIDs []string) ([]investors.PersonRow, error) {
	if len(partnerIDs) == 0 {
		return nil, nil
	}
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

// CompletePairs creates the User of each given person that has none yet and,
// in the same transaction, records the event of each pair it completed (the
// transactional outbox) and queues one delivery of it per enabled webhook
// endpoint of the tenant. It returns the ids of the people whose pair it
// completed: for those people, and only those, an event now exists.
func (s *Store) CompletePairs(ctx context.Context, cs []investors.Completion) ([]int64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	// It is all one statement, hence one transaction: the data-modifying CTEs
	// each see the rows the previous one returned.
	cs = gormstore.SortedBy(cs, func(c investors.Completion) int64 { return c.User.PersonID })
	now := s.Now()
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
	err := s.retryContended(ctx, func() error {
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
			), d AS (`+gormstore.DeliveriesSQL("ev e", "$11")+`)
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
