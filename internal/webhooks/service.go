// Package webhooks delivers the tenants' events to their webhook endpoints,
// as the Standard Webhooks spec describes: it manages the endpoints, builds
// and signs the events, and runs the dispatcher that attempts deliveries
// from the outbox, with retries, from any number of processes at once.
package webhooks

import (
	"context"
	"errors"
	"time"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/internal/netguard"
	"github.com/zestequity/zest-api/internal/paging"
	"github.com/zestequity/zest-api/models"
)

// RotationGrace is how long a rotated-out secret still signs deliveries.
const RotationGrace = 24 * time.Hour

// Service manages a tenant's endpoints and events.
type Service struct {
	store  Store
	policy netguard.Policy
	now    func() time.Time
}

// New returns a Service that checks endpoint URLs with policy.
func New(st Store, policy netguard.Policy, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, policy: policy, now: now}
}

// CreateEndpoint registers an endpoint and returns it; its Secret is shown to
// the tenant this once.
func (s *Service) CreateEndpoint(ctx context.Context, clientID, url string, description *string) (models.WebhookEndpoint, error) {
	if err := s.policy.CheckURL(ctx, url); err != nil {
		return models.WebhookEndpoint{}, apperr.Wrap(err, apperr.InvalidWebhookURL, "%s.", err.Error())
	}
	return s.store.CreateEndpoint(ctx, models.WebhookEndpoint{
		ID: ids.New("we_"), ClientID: clientID, URL: url, Description: description,
		Status: models.EndpointEnabled, Secret: NewSecret(),
	})
}

// Endpoints lists the tenant's endpoints.
func (s *Service) Endpoints(ctx context.Context, clientID string) ([]models.WebhookEndpoint, error) {
	return s.store.Endpoints(ctx, clientID)
}

// Endpoint returns one of the tenant's endpoints.
func (s *Service) Endpoint(ctx context.Context, clientID, id string) (models.WebhookEndpoint, error) {
	e, err := s.store.Endpoint(ctx, clientID, id)
	return e, notFound(err, "No webhook endpoint with this id.")
}

// DeleteEndpoint deletes one of the tenant's endpoints.
func (s *Service) DeleteEndpoint(ctx context.Context, clientID, id string) error {
	return notFound(s.store.DeleteEndpoint(ctx, clientID, id), "No webhook endpoint with this id.")
}

// RotateSecret issues a new secret for an endpoint and returns the endpoint
// with it; the previous secret keeps signing for RotationGrace.
func (s *Service) RotateSecret(ctx context.Context, clientID, id string) (models.WebhookEndpoint, error) {
	e, err := s.store.RotateSecret(ctx, clientID, id, NewSecret(), s.now().Add(RotationGrace))
	return e, notFound(err, "No webhook endpoint with this id.")
}

// Recover queues again the endpoint's failed deliveries of events recorded
// since then, and returns how many.
func (s *Service) Recover(ctx context.Context, clientID, id string, since time.Time) (int64, error) {
	n, err := s.store.RecoverDeliveries(ctx, clientID, id, since)
	return n, notFound(err, "No webhook endpoint with this id.")
}

// EventPage is a page of events in the order recorded.
type EventPage struct {
	Events     []models.Event
	NextCursor *string
}

// Events returns a page of the tenant's events.
func (s *Service) Events(ctx context.Context, clientID string, eventType, after *string, limit int) (EventPage, error) {
	var afterSeq int64
	if after != nil {
		seq, ok := paging.Decode(*after)
		if !ok {
			return EventPage{}, apperr.New(apperr.InvalidCursor, "cursor is not a nextCursor returned by this API.")
		}
		afterSeq = seq
	}
	events, err := s.store.Events(ctx, EventsQuery{ClientID: clientID, Type: eventType, AfterSeq: afterSeq, Limit: limit + 1})
	if err != nil {
		return EventPage{}, err
	}
	var page EventPage
	page.Events, page.NextCursor = paging.Page(events, limit, func(e models.Event) int64 { return e.Seq })
	return page, nil
}

// Event returns one of the tenant's events with its deliveries and attempts.
func (s *Service) Event(ctx context.Context, clientID, eventID string) (EventDetail, error) {
	d, err := s.store.Event(ctx, clientID, eventID)
	return d, notFound(err, "No event with this id.")
}

func notFound(err error, detail string) error {
	if errors.Is(err, models.ErrNotFound) {
		return apperr.New(apperr.NotFound, "%s", detail)
	}
	return err
}
