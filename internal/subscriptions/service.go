// Package subscriptions is the SPV and subscription service: operators
// provision SPVs with their share classes, partners subscribe their
// investors to them in batches and read the subscriptions back, and
// operators complete them.
package subscriptions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/paging"
	"github.com/zestequity/zest-api/internal/webhooks"
	"github.com/zestequity/zest-api/models"
)

// Store is the persistence the service needs; every database driver under
// internal/store implements it.
type Store interface {
	// CreateSPV returns models.ErrExists when the slug is taken and
	// models.ErrNotFound when the tenant does not exist.
	CreateSPV(ctx context.Context, spv models.SPV, classes []models.ShareClass) error
	// SPVs returns the tenant's SPVs in creation order.
	SPVs(ctx context.Context, clientID string) ([]SPV, error)
	// SPVBySlug returns models.ErrNotFound when there is no such SPV.
	SPVBySlug(ctx context.Context, slug string) (SPV, error)
	// CloseSPV returns models.ErrNotFound when there is no such SPV.
	CloseSPV(ctx context.Context, slug string, at time.Time) error
	// Investors resolves the tenant's zestPersonIds through their Users:
	// a person without a User is not an investor that can subscribe yet.
	Investors(ctx context.Context, clientID string, zestPersonIDs []string) ([]Investor, error)
	// WriteSubscriptions inserts the subscriptions whose (SPV, person) has
	// none yet and, in the same transaction, records their events (each
	// event's SubscriptionID is set by the write) and queues the deliveries.
	// It returns every subscription of the SPV for the given people: the
	// ones it inserted marked Inserted, the others as they exist.
	WriteSubscriptions(ctx context.Context, spvID int64, subs []NewSubscription) ([]Written, error)
	ListSubscriptions(ctx context.Context, q Query) ([]Subscription, error)
	// SubscriptionByPerson returns models.ErrNotFound when the person has no
	// subscription to the SPV.
	SubscriptionByPerson(ctx context.Context, spvID int64, zestPersonID string) (Subscription, error)
	// CompleteSubscription marks the subscription completed at the event's
	// time and records the event in the same transaction; it reports false
	// when the subscription was completed already.
	CompleteSubscription(ctx context.Context, subscriptionID int64, ev models.Event) (bool, error)
	// RecordDocument moves the subscription to status, provided its status
	// is one of from, and records doc and ev (with ev's deliveries) in one
	// transaction; it reports false, writing nothing, when the status was
	// not one of from.
	RecordDocument(ctx context.Context, doc models.SubscriptionDocument, from []string, status string, ev models.Event) (bool, error)
	// Documents returns the subscription's documents in upload order.
	Documents(ctx context.Context, subscriptionID int64) ([]models.SubscriptionDocument, error)
	// ReferencedBlobKeys returns those of keys that are a document's
	// BlobKey.
	ReferencedBlobKeys(ctx context.Context, keys []string) ([]string, error)
}

// SPV is an SPV with its share classes.
type SPV struct {
	models.SPV
	ShareClasses []models.ShareClass
}

// Investor is a person of the tenant with its paired User.
type Investor struct {
	ZestPersonID      string
	PartnerInvestorID string
	PersonID          int64
	UserID            int64
}

// NewSubscription is a subscription to insert, and the event to record if
// it is.
type NewSubscription struct {
	Subscription models.Subscription
	Event        models.Event
}

// Written is a subscription of the batch's people, after the write.
type Written struct {
	models.Subscription
	Inserted bool
}

// Subscription is a subscription as partners read it.
type Subscription struct {
	ID                    int64
	SubscriptionSlug      string
	SPVSlug               string
	PersonID              string // the zestPersonId
	Status                string
	Currency              string
	Amount                string
	ShareClassSlug        string
	PartnerSubscriptionID *string
	CreatedAt             time.Time
	CompletedAt           *time.Time
	// Documents are set when the subscription is read alone.
	Documents []Document `gorm:"-"`
}

// Query selects a page of an SPV's subscriptions in creation order.
type Query struct {
	SPVID   int64
	Status  *string
	AfterID int64
	Limit   int
}

// Service is the SPV and subscription service.
type Service struct {
	store     Store
	files     Files
	fileGrace time.Duration
	sweepPage int
	origin    func(context.Context) string
	now       func() time.Time
	log       *slog.Logger
}

// New returns a Service; now defaults to time.Now and log to slog.Default().
func New(st Store, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: st, now: now, log: log}
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ShareClassSpec names a share class to create.
type ShareClassSpec struct {
	Slug, Name string
}

// Operator errors, for the CLI.
var (
	ErrSPVExists   = errors.New("an SPV with this slug exists")
	ErrSPVNotFound = errors.New("no such SPV")
	ErrNoTenant    = errors.New("no such tenant")
)

// CreateSPV provisions an open SPV of the tenant.
func (s *Service) CreateSPV(ctx context.Context, clientID, slug, name, currency string, classes []ShareClassSpec, minAmount *string) (SPV, error) {
	if !slugRE.MatchString(slug) {
		return SPV{}, fmt.Errorf("SPV slug %q must be 1 to 64 lower-case letters, digits and dashes, starting with a letter or digit", slug)
	}
	if !ValidCurrency(currency) {
		return SPV{}, fmt.Errorf("currency %q is not an ISO 4217 code", currency)
	}
	if name == "" {
		return SPV{}, errors.New("the SPV needs a name")
	}
	if len(classes) == 0 {
		return SPV{}, errors.New("the SPV needs at least one share class")
	}
	spv := SPV{SPV: models.SPV{Slug: slug, ClientID: clientID, Name: name, Currency: currency, Status: models.SPVOpen}}
	if minAmount != nil {
		_, amount, problem := ParseAmount(*minAmount, currency)
		if problem != "" {
			return SPV{}, fmt.Errorf("the minimum amount %s", problem)
		}
		spv.MinAmount = &amount
	}
	seen := map[string]bool{}
	for _, c := range classes {
		if !slugRE.MatchString(c.Slug) {
			return SPV{}, fmt.Errorf("share class slug %q must be 1 to 64 lower-case letters, digits and dashes", c.Slug)
		}
		if seen[c.Slug] {
			return SPV{}, fmt.Errorf("share class %s is given twice", c.Slug)
		}
		seen[c.Slug] = true
		name := c.Name
		if name == "" {
			name = c.Slug
		}
		spv.ShareClasses = append(spv.ShareClasses, models.ShareClass{Slug: c.Slug, Name: name})
	}
	err := s.store.CreateSPV(ctx, spv.SPV, spv.ShareClasses)
	switch {
	case errors.Is(err, models.ErrExists):
		return SPV{}, ErrSPVExists
	case errors.Is(err, models.ErrNotFound):
		return SPV{}, ErrNoTenant
	}
	return spv, err
}

// SPVs lists the tenant's SPVs.
func (s *Service) SPVs(ctx context.Context, clientID string) ([]SPV, error) {
	spvs, err := s.store.SPVs(ctx, clientID)
	for i := range spvs {
		spvs[i] = withCanonicalMin(spvs[i])
	}
	return spvs, err
}

// CloseSPV closes an SPV to new subscriptions.
func (s *Service) CloseSPV(ctx context.Context, slug string) error {
	err := s.store.CloseSPV(ctx, slug, s.now())
	if errors.Is(err, models.ErrNotFound) {
		return ErrSPVNotFound
	}
	return err
}

// SPV returns the tenant's SPV; another tenant's is not found, like an
// unknown one.
func (s *Service) SPV(ctx context.Context, clientID, slug string) (SPV, error) {
	spv, err := s.store.SPVBySlug(ctx, slug)
	if errors.Is(err, models.ErrNotFound) || (err == nil && spv.ClientID != clientID) {
		return SPV{}, apperr.New(apperr.NotFound, "No SPV with this spvSlug.")
	}
	return withCanonicalMin(spv), err
}

func withCanonicalMin(spv SPV) SPV {
	if spv.MinAmount != nil {
		m := canonical(*spv.MinAmount, spv.Currency)
		spv.MinAmount = &m
	}
	return spv
}

// Page is a page of subscriptions.
type Page struct {
	Subscriptions []Subscription
	NextCursor    *string
}

// List returns a page of the SPV's subscriptions, oldest first.
func (s *Service) List(ctx context.Context, clientID, spvSlug string, status, cursor *string, limit int) (Page, error) {
	spv, err := s.SPV(ctx, clientID, spvSlug)
	if err != nil {
		return Page{}, err
	}
	var after int64
	if cursor != nil {
		id, ok := paging.Decode(*cursor)
		if !ok {
			return Page{}, apperr.New(apperr.InvalidCursor, "cursor is not a nextCursor returned by this API.")
		}
		after = id
	}
	subs, err := s.store.ListSubscriptions(ctx, Query{SPVID: spv.ID, Status: status, AfterID: after, Limit: limit + 1})
	if err != nil {
		return Page{}, err
	}
	var page Page
	page.Subscriptions, page.NextCursor = paging.Page(subs, limit, func(s Subscription) int64 { return s.ID })
	for i := range page.Subscriptions {
		page.Subscriptions[i].Amount = canonical(page.Subscriptions[i].Amount, page.Subscriptions[i].Currency)
	}
	return page, nil
}

// Get returns the person's subscription to the tenant's SPV.
func (s *Service) Get(ctx context.Context, clientID, spvSlug, zestPersonID string) (Subscription, error) {
	spv, err := s.SPV(ctx, clientID, spvSlug)
	if err != nil {
		return Subscription{}, err
	}
	sub, err := s.store.SubscriptionByPerson(ctx, spv.ID, zestPersonID)
	if errors.Is(err, models.ErrNotFound) {
		return sub, apperr.New(apperr.NotFound, "The investor has no subscription to this SPV.")
	}
	if err != nil {
		return sub, err
	}
	sub.Amount = canonical(sub.Amount, sub.Currency)
	if s.files != nil {
		sub.Documents, err = s.documents(ctx, sub.ID)
	}
	return sub, err
}

// ErrNoSubscription is Complete's answer for a person without a subscription
// to the SPV.
var ErrNoSubscription = errors.New("the person has no subscription to this SPV")

// Complete marks the person's subscription to the SPV completed and records
// its subscription.completed event; it reports false when it was completed
// already (and records nothing).
func (s *Service) Complete(ctx context.Context, spvSlug, zestPersonID string) (bool, error) {
	spv, err := s.store.SPVBySlug(ctx, spvSlug)
	if errors.Is(err, models.ErrNotFound) {
		return false, ErrSPVNotFound
	}
	if err != nil {
		return false, err
	}
	sub, err := s.store.SubscriptionByPerson(ctx, spv.ID, zestPersonID)
	if errors.Is(err, models.ErrNotFound) {
		return false, ErrNoSubscription
	}
	if err != nil {
		return false, err
	}
	if sub.Status == models.SubscriptionCompleted {
		return false, nil
	}
	ev, err := webhooks.SubscriptionCompleted(spv.ClientID, sub.ID, webhooks.SubscriptionCompletedData{
		SubscriptionSlug: sub.SubscriptionSlug, SPVSlug: spv.Slug, PersonID: sub.PersonID,
		PartnerSubscriptionID: sub.PartnerSubscriptionID,
	}, s.now())
	if err != nil {
		return false, err
	}
	return s.store.CompleteSubscription(ctx, sub.ID, ev)
}

func newSlug() string { return ids.Sorted("sub_") }
