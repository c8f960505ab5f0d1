// Package investors is the investor onboarding service: it validates import
// rows against the published row schema, deduplicates them, writes each new
// investor as a Person and then its paired User, and serves the reads that
// partners reconcile with.
package investors

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/rows"
	"github.com/zestequity/zest-api/internal/webhooks"
	"github.com/zestequity/zest-api/models"
)

// Store is the persistence the service needs; every database driver under
// internal/store implements it.
type Store interface {
	// WritePeople inserts the given people that do not exist yet and returns,
	// for every partnerInvestorId in lookup (which includes those of people),
	// the tenant's person: inserted now, or existing, with whether it has its
	// User. A person whose partnerInvestorId or email is taken is skipped,
	// never updated; an id missing from the answer lost its email to another
	// person.
	WritePeople(ctx context.Context, clientID string, people []models.Person, lookup []string) ([]PersonRow, error)
	// CompletePairs creates the User of each given person that has none yet
	// and, in the same transaction, records the event of each pair it
	// completed and queues its deliveries. It returns the ids of the people
	// whose pair it completed: for those, and only those, an event now exists.
	CompletePairs(ctx context.Context, cs []Completion) ([]int64, error)
	// PersonByZestID returns models.ErrNotFound when there is no such person,
	// or when its pair is incomplete (it has no User yet).
	PersonByZestID(ctx context.Context, clientID, zestPersonID string) (models.Person, error)
	// ListPeople lists people whose pair is complete.
	ListPeople(ctx context.Context, q PeopleQuery) ([]models.Person, error)
	// IncompletePeople returns up to limit people of every tenant, created
	// before createdBefore and still without their User, oldest first.
	IncompletePeople(ctx context.Context, createdBefore time.Time, limit int) ([]models.Person, error)
	// Integrity counts the rows that break the pair's and the outbox's
	// invariants.
	Integrity(ctx context.Context) (Integrity, error)
}

// Integrity counts the violations of each invariant of the investor pair
// and its outbox; all are zero in a sound database.
type Integrity struct {
	PeopleWithoutUser      int64 // mended by completing the pair
	UsersWithoutPerson     int64
	EventsWithoutPerson    int64 // investor.created events
	PairsWithoutEvent      int64 // users whose person has no investor.created event
	DeliveriesWithoutEvent int64
	// The references the database does not enforce on PostgreSQL (see its
	// migration 0009): rows whose parent row is missing.
	RowsWithoutTenant          int64 // people, users, events and subscriptions
	SubscriptionsWithoutParent int64 // whose SPV, share class, person or User is missing
	EventsWithoutSubscription  int64 // subscription events
	DeliveriesWithoutEndpoint  int64
}

// Violations is the number of rows breaking any invariant.
func (i Integrity) Violations() int64 {
	return i.PeopleWithoutUser + i.UsersWithoutPerson + i.EventsWithoutPerson + i.PairsWithoutEvent + i.DeliveriesWithoutEvent +
		i.RowsWithoutTenant + i.SubscriptionsWithoutParent + i.EventsWithoutSubscription + i.DeliveriesWithoutEndpoint
}

// PersonRow is what an import needs to know about a person of the batch.
type PersonRow struct {
	ID                int64
	ZestPersonID      string
	PartnerInvestorID string
	Email             string
	HasUser           bool
	Inserted          bool // written by this call; otherwise it existed
}

// Completion is a person whose pair may be completed, with the event to
// record if this completes it.
type Completion struct {
	User  models.User
	Event models.Event // its PersonID is User.PersonID
}

// PeopleQuery selects a page of a tenant's people in creation order.
type PeopleQuery struct {
	ClientID          string
	PartnerInvestorID *string // exact match when set
	AfterID           int64   // keyset cursor: people with a larger id
	Limit             int
}

// Status is a row's outcome.
type Status string

const (
	Created       Status = "created"
	AlreadyExists Status = "already_exists"
	Failed        Status = "failed"
)

// RowResult answers one submitted row.
type RowResult struct {
	PartnerInvestorID *string // as submitted; nil when the row has none
	Status            Status
	ZestPersonID      string         // created and already_exists
	Error             *rows.RowError // failed
}

// Service is the investor onboarding service.
type Service struct {
	store         Store
	rows          *rows.RowChecker
	now           func() time.Time
	log           *slog.Logger
	completeAfter time.Duration
}

// WriteTimeout bounds an import's writes once they have started; they no
// longer depend on the client's connection.
const WriteTimeout = 30 * time.Second

// completeBatch bounds the people one completer step reads.
const completeBatch = 1000

// Options configure a Service.
type Options struct {
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// CompleteAfter is the grace period of CompletePending: how old an
	// incomplete pair must be before it completes it. It should well exceed
	// WriteTimeout, so that the completer does not race the request still
	// writing the pair (which would then report its row already_exists
	// rather than created). Zero completes every incomplete pair.
	CompleteAfter time.Duration
}

// New returns a Service that validates rows against doc's row schema.
func New(st Store, doc *openapi3.T, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	rc, err := rows.NewRowChecker(doc, opts.Now)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{store: st, rows: rc, now: opts.Now, log: opts.Logger, completeAfter: opts.CompleteAfter}, nil
}

// pending is a valid row on its way to the database.
type pending struct {
	index int
	row   rows.Row
}

// Import processes a batch and returns one result per row, in order.
//
// The write path, for the rows that pass validation, is two statements for
// a batch of new investors:
//  1. insert the new people (ON CONFLICT DO NOTHING), then read those of the
//     batch's partnerInvestorIds that were not inserted (known investors);
//  2. complete the pairs: create the missing Users, and record their
//     investor.created events, in one transaction.
//
// A row is created only if step 2 created its User: whoever completes the
// pair reports it, exactly once, even when a crash or a failed User write left
// a Person without its User earlier. Everything else about a known
// partnerInvestorId is already_exists, and nothing is updated.
//
// Rows are plain JSON values (maps, slices, strings, float64, bool, nil), as
// decoded once by the request validator; Import may modify them.
func (s *Service) Import(ctx context.Context, clientID string, batch []any) ([]RowResult, error) {
	results := make([]RowResult, len(batch))
	day := s.rows.Today()
	firstByID := make(map[string]int, len(batch))
	var todo []pending

	for i, r := range batch {
		res := &results[i]
		row, echo, rerr := s.rows.CheckOn(r, day)
		res.PartnerInvestorID = echo
		// A repeated partnerInvestorId fails whatever else the row holds: the
		// first occurrence is the one processed.
		if echo != nil && strings.TrimSpace(*echo) != "" {
			if first, seen := firstByID[*echo]; seen {
				res.fail(rows.CodeDuplicate, rows.FieldPartnerInvestorID,
					fmt.Sprintf("partnerInvestorId already appears earlier in this batch (row %d, counting from 1)", first+1))
				continue
			}
			firstByID[*echo] = i
		}
		if rerr != nil {
			res.Status, res.Error = Failed, rerr
			continue
		}
		todo = append(todo, pending{index: i, row: row})
	}
	if len(todo) == 0 {
		return results, nil
	}
	// A client that hangs up must not stop the writes halfway: the people
	// would be left without their Users. What has started finishes, within
	// its own bound; the completer mends what a crash still interrupts.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), WriteTimeout)
	defer cancel()
	if err := s.write(wctx, clientID, todo, results); err != nil {
		return nil, err
	}
	return results, nil
}

func (res *RowResult) fail(code, field, msg string) {
	res.Status = Failed
	res.Error = &rows.RowError{Code: code, Field: field, Message: msg, Retryable: code == rows.CodeUnavailable}
}

func (s *Service) write(ctx context.Context, clientID string, todo []pending, results []RowResult) error {
	// An email is claimed by the first row of the batch that carries it. A
	// later row with the same email is held back: it is a conflict if the
	// claimer was inserted, already_exists if its own partnerInvestorId is
	// known, and is inserted after all if the claimer turned out to be an
	// existing person (who keeps the email on file).
	claimer := make(map[string]pending, len(todo))
	fresh := make([]models.Person, 0, len(todo))
	var held []pending
	lookup := make([]string, len(todo))
	for i, p := range todo {
		lookup[i] = p.row.PartnerInvestorID
		if _, taken := claimer[p.row.EmailNormalized]; taken {
			held = append(held, p)
			continue
		}
		claimer[p.row.EmailNormalized] = p
		fresh = append(fresh, s.newPerson(clientID, p.row))
	}
	known := make(map[string]PersonRow, len(todo))
	if err := s.writePeople(ctx, clientID, fresh, lookup, known); err != nil {
		return err
	}

	var retry []models.Person
	var retryIDs []string
	for _, p := range held {
		pid := p.row.PartnerInvestorID
		if _, ok := known[pid]; ok {
			continue
		}
		first := claimer[p.row.EmailNormalized]
		if c, ok := known[first.row.PartnerInvestorID]; ok && c.Inserted {
			results[p.index].fail(rows.CodeConflict, rows.FieldEmail,
				"email is already used by partnerInvestorId "+first.row.PartnerInvestorID+", earlier in this batch")
			continue
		}
		retry = append(retry, s.newPerson(clientID, p.row))
		retryIDs = append(retryIDs, pid)
	}
	if len(retry) > 0 {
		if err := s.writePeople(ctx, clientID, retry, retryIDs, known); err != nil {
			return err
		}
	}

	// Completing a pair records its investor.created event in the same
	// transaction: the event exists if and only if the pair was completed.
	var pairs []Completion
	now := s.now()
	for _, p := range todo {
		if e, ok := known[p.row.PartnerInvestorID]; ok && !e.HasUser {
			c, err := completion(clientID, e, now)
			if err != nil {
				return err
			}
			if pairs == nil {
				pairs = make([]Completion, 0, len(todo)) // one allocation for a batch of new people
			}
			pairs = append(pairs, c)
		}
	}
	completed := map[int64]bool{}
	var pairErr error
	if len(pairs) > 0 {
		done, err := s.store.CompletePairs(ctx, pairs)
		if err != nil {
			pairErr = err
		}
		for _, id := range done {
			completed[id] = true
		}
	}
	if pairErr != nil && apperr.CodeOf(pairErr) != apperr.Unavailable {
		return pairErr
	}
	if pairErr != nil {
		s.log.WarnContext(ctx, "completing person/user pairs failed; the rows are reported retryable",
			"client_id", clientID, "rows", len(pairs), "error", pairErr)
	}

	for _, p := range todo {
		res := &results[p.index]
		if res.Status == Failed {
			continue
		}
		e, ok := known[p.row.PartnerInvestorID]
		switch {
		case !ok:
			res.fail(rows.CodeConflict, rows.FieldEmail, "email is already used by another partnerInvestorId of this tenant")
		case completed[e.ID]:
			res.Status, res.ZestPersonID = Created, e.ZestPersonID
		case !e.HasUser && pairErr != nil:
			res.fail(rows.CodeUnavailable, "", "the investor could not be completed because of a temporary server failure; resubmit this row")
		default:
			res.Status, res.ZestPersonID = AlreadyExists, e.ZestPersonID
		}
	}
	return nil
}

// writePeople writes people, and records in known every person of lookup.
func (s *Service) writePeople(ctx context.Context, clientID string, people []models.Person, lookup []string, known map[string]PersonRow) error {
	written, err := s.store.WritePeople(ctx, clientID, people, lookup)
	for _, r := range written {
		known[r.PartnerInvestorID] = r
	}
	return err
}

func (s *Service) newPerson(clientID string, r rows.Row) models.Person {
	var flags models.StringList = []string{}
	if r.CountryOfResidence != nil && !rows.RiskRated(*r.CountryOfResidence) {
		flags = append(flags, models.KYCFlagCountryNotRiskRated)
	}
	return models.Person{
		ZestPersonID:       ids.Sorted("psn_"),
		ClientID:           clientID,
		PartnerInvestorID:  r.PartnerInvestorID,
		Email:              r.Email,
		EmailNormalized:    r.EmailNormalized,
		FirstName:          r.FirstName,
		LastName:           r.LastName,
		DateOfBirth:        models.Date(r.DateOfBirth),
		CountryOfResidence: r.CountryOfResidence,
		KYCManagedBy:       models.KYCManagedByPartner,
		KYCFlags:           flags,
	}
}

// completion is the User and the investor.created event that complete a
// person's pair: the same whether a replay of its row or the completer
// completes it.
func completion(clientID string, p PersonRow, now time.Time) (Completion, error) {
	ev, err := webhooks.InvestorCreated(clientID, p.ID, p.PartnerInvestorID, p.ZestPersonID, now)
	return Completion{User: newUser(clientID, p), Event: ev}, err
}

// newUser returns the platform account paired to a person, with the
// partner-onboarded defaults.
func newUser(clientID string, p PersonRow) models.User {
	return models.User{
		PersonID:        p.ID,
		ClientID:        clientID,
		Email:           p.Email,
		EmailIsVerified: true,
		OTPMethod:       models.OTPMethodEmail,
		Phone:           PlaceholderPhone(p.ZestPersonID),
	}
}

// PlaceholderPhone derives the User's placeholder phone number from the
// person's id, so that it is the same on every retry. +999 is a country code
// that ITU reserves and never assigns, so the number can reach nobody.
func PlaceholderPhone(zestPersonID string) string {
	sum := sha256.Sum256([]byte(zestPersonID))
	return fmt.Sprintf("+999%011d", binary.BigEndian.Uint64(sum[:8])%100_000_000_000)
}

// Get returns the tenant's investor with that id.
func (s *Service) Get(ctx context.Context, clientID, zestPersonID string) (models.Person, error) {
	p, err := s.store.PersonByZestID(ctx, clientID, zestPersonID)
	if errors.Is(err, models.ErrNotFound) {
		return p, apperr.New(apperr.NotFound, "No investor with this zestPersonId.")
	}
	return p, err
}
