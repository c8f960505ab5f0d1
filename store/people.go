package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/zestequity/zest-api/models"
)

// ExistingPerson is what an import needs to know about a stored person.
type ExistingPerson struct {
	ID                int64
	ZestPersonID      string
	PartnerInvestorID string
	Email             string
	HasUser           bool
}

// InsertedPerson identifies a person that InsertPeople created.
type InsertedPerson struct {
	ID                int64
	PartnerInvestorID string
}

// sqliteChunk bounds the rows per SQLite statement, far below its limit of
// 32766 bound parameters.
const sqliteChunk = 500

// FindPeople returns the tenant's people with the given partnerInvestorIds,
// and whether each already has its User.
func (s *Store) FindPeople(ctx context.Context, clientID string, partnerIDs []string) ([]ExistingPerson, error) {
	if len(partnerIDs) == 0 {
		return nil, nil
	}
	if s.dialect == Postgres {
		rows, err := s.pool.Query(ctx, `
			SELECT p.id, p.zest_person_id, p.partner_investor_id, p.email, u.id IS NOT NULL
			FROM people p LEFT JOIN users u ON u.person_id = p.id
			WHERE p.client_id = $1 AND p.partner_investor_id = ANY($2)`, clientID, partnerIDs)
		if err != nil {
			return nil, classify(err)
		}
		out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExistingPerson, error) {
			var p ExistingPerson
			err := r.Scan(&p.ID, &p.ZestPersonID, &p.PartnerInvestorID, &p.Email, &p.HasUser)
			return p, err
		})
		return out, classify(err)
	}
	var out []ExistingPerson
	for chunk := range slices.Chunk(partnerIDs, sqliteChunk) {
		var part []ExistingPerson
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

// InsertPeople inserts the people that do not exist yet and returns those it
// inserted. A person whose partnerInvestorId or email is already taken in the
// tenant, by an earlier or a concurrent request, is skipped, never updated.
// Rows are written in partnerInvestorId order so that overlapping concurrent
// batches take their locks in the same order.
func (s *Store) InsertPeople(ctx context.Context, people []models.Person) ([]InsertedPerson, error) {
	if len(people) == 0 {
		return nil, nil
	}
	people = slices.Clone(people)
	slices.SortFunc(people, func(a, b models.Person) int {
		return strings.Compare(a.PartnerInvestorID, b.PartnerInvestorID)
	})
	now := s.nowUTC()
	if s.dialect == Postgres {
		return s.insertPeoplePG(ctx, people, now)
	}
	return s.insertPeopleSQLite(ctx, people, now)
}

func (s *Store) insertPeoplePG(ctx context.Context, people []models.Person, now time.Time) ([]InsertedPerson, error) {
	n := len(people)
	var (
		zid, client, pid, email, norm, first, last, dob, managed, flags = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		country                                                         = make([]*string, n)
	)
	for i, p := range people {
		f, err := p.KYCFlags.Value()
		if err != nil {
			return nil, err
		}
		zid[i], client[i], pid[i], email[i], norm[i] = p.ZestPersonID, p.ClientID, p.PartnerInvestorID, p.Email, p.EmailNormalized
		first[i], last[i], dob[i], managed[i], flags[i] = p.FirstName, p.LastName, string(p.DateOfBirth), p.KYCManagedBy, f.(string)
		country[i] = p.CountryOfResidence
	}
	var out []InsertedPerson
	err := retryContended(ctx, func() error {
		rows, err := s.pool.Query(ctx, `
			INSERT INTO people (zest_person_id, client_id, partner_investor_id, email, email_normalized,
				first_name, last_name, date_of_birth, country_of_residence, kyc_managed_by, kyc_flags, created_at)
			SELECT r.zid, r.client, r.pid, r.email, r.norm, r.first, r.last, r.dob::date, r.country, r.managed, r.flags, $12
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
				$8::text[], $9::text[], $10::text[], $11::text[])
				WITH ORDINALITY AS r(zid, client, pid, email, norm, first, last, dob, country, managed, flags, ord)
			ORDER BY r.ord
			ON CONFLICT DO NOTHING
			RETURNING id, partner_investor_id`,
			zid, client, pid, email, norm, first, last, dob, country, managed, flags, now)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (InsertedPerson, error) {
			var p InsertedPerson
			err := r.Scan(&p.ID, &p.PartnerInvestorID)
			return p, err
		})
		return err
	})
	return out, classify(err)
}

func (s *Store) insertPeopleSQLite(ctx context.Context, people []models.Person, now time.Time) ([]InsertedPerson, error) {
	var out []InsertedPerson
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
			args = append(args, p.ZestPersonID, p.ClientID, p.PartnerInvestorID, p.Email, p.EmailNormalized,
				p.FirstName, p.LastName, p.DateOfBirth, p.CountryOfResidence, p.KYCManagedBy, p.KYCFlags, now)
		}
		sb.WriteString(" ON CONFLICT DO NOTHING RETURNING id, partner_investor_id")
		var part []InsertedPerson
		if err := s.db.WithContext(ctx).Raw(sb.String(), args...).Scan(&part).Error; err != nil {
			return out, classify(err)
		}
		out = append(out, part...)
	}
	return out, nil
}

// CompletePairs creates the User of each given person that has none yet, in
// one transaction, and returns the ids of the people whose User it created:
// for those people, and only those, this call completed the pair.
func (s *Store) CompletePairs(ctx context.Context, users []models.User) ([]int64, error) {
	if len(users) == 0 {
		return nil, nil
	}
	users = slices.Clone(users)
	slices.SortFunc(users, func(a, b models.User) int { return int(a.PersonID - b.PersonID) })
	now := s.nowUTC()
	if s.dialect == Postgres {
		return s.completePairsPG(ctx, users, now)
	}
	return s.completePairsSQLite(ctx, users, now)
}

func (s *Store) completePairsPG(ctx context.Context, users []models.User, now time.Time) ([]int64, error) {
	n := len(users)
	person, client, email, otp, phone := make([]int64, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	verified := make([]bool, n)
	for i, u := range users {
		person[i], client[i], email[i], verified[i], otp[i], phone[i] = u.PersonID, u.ClientID, u.Email, u.EmailIsVerified, u.OTPMethod, u.Phone
	}
	var completed []int64
	err := retryContended(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `
				INSERT INTO users (person_id, client_id, email, email_is_verified, otp_method, phone, created_at)
				SELECT r.person, r.client, r.email, r.verified, r.otp, r.phone, $7
				FROM unnest($1::bigint[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::text[])
					WITH ORDINALITY AS r(person, client, email, verified, otp, phone, ord)
				ORDER BY r.ord
				ON CONFLICT (person_id) DO NOTHING
				RETURNING person_id`, person, client, email, verified, otp, phone, now)
			if err != nil {
				return err
			}
			completed, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			return err
		})
	})
	return completed, classify(err)
}

func (s *Store) completePairsSQLite(ctx context.Context, users []models.User, now time.Time) ([]int64, error) {
	var completed []int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for chunk := range slices.Chunk(users, sqliteChunk) {
			var sb strings.Builder
			sb.WriteString(`INSERT INTO users (person_id, client_id, email, email_is_verified, otp_method, phone, created_at) VALUES `)
			args := make([]any, 0, len(chunk)*7)
			for i, u := range chunk {
				if i > 0 {
					sb.WriteString(",")
				}
				sb.WriteString("(?,?,?,?,?,?,?)")
				args = append(args, u.PersonID, u.ClientID, u.Email, u.EmailIsVerified, u.OTPMethod, u.Phone, now)
			}
			sb.WriteString(" ON CONFLICT (person_id) DO NOTHING RETURNING person_id")
			var part []int64
			if err := tx.Raw(sb.String(), args...).Scan(&part).Error; err != nil {
				return err
			}
			completed = append(completed, part...)
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
