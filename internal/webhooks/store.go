package webhooks

import (
	"context"
	"time"

	"github.com/zestequity/zest-api/models"
)

// Store is the persistence that the service and the dispatcher need; every
// database driver under internal/store implements it.
type Store interface {
	CreateEndpoint(ctx context.Context, e models.WebhookEndpoint) (models.WebhookEndpoint, error)
	// Endpoints returns the tenant's endpoints that are not deleted, oldest
	// first.
	Endpoints(ctx context.Context, clientID string) ([]models.WebhookEndpoint, error)
	// Endpoint returns models.ErrNotFound unless the tenant has such an
	// endpoint, not deleted.
	Endpoint(ctx context.Context, clientID, id string) (models.WebhookEndpoint, error)
	// DeleteEndpoint deletes an endpoint and fails its pending deliveries, in
	// one transaction, so that no dispatcher attempts them afterwards.
	DeleteEndpoint(ctx context.Context, clientID, id string) error
	// RotateSecret makes secret the endpoint's secret and keeps the previous
	// one valid until graceUntil.
	RotateSecret(ctx context.Context, clientID, id, secret string, graceUntil time.Time) (models.WebhookEndpoint, error)
	// RecoverDeliveries queues again, due now with a fresh schedule, the
	// endpoint's failed deliveries of events recorded since then.
	RecoverDeliveries(ctx context.Context, clientID, endpointID string, since time.Time) (int64, error)
	Events(ctx context.Context, q EventsQuery) ([]models.Event, error)
	// Event returns models.ErrNotFound when the tenant has no such event.
	Event(ctx context.Context, clientID, eventID string) (EventDetail, error)

	// ClaimDeliveries leases up to limit due deliveries until leaseUntil.
	// Deliveries another dispatcher holds are skipped; a dispatcher that dies
	// leaves its lease to expire, and the delivery is attempted again.
	// Deliveries to an endpoint whose breaker is open (open_until set) are
	// skipped, except one probe per endpoint once open_until has passed: the
	// claim moves open_until to leaseUntil, so that no other dispatcher
	// probes it meanwhile.
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]ClaimedDelivery, error)
	// RecordDeliveryResults applies the results of attempts, records each
	// attempt, and sets the breakers of the endpoints attempted.
	RecordDeliveryResults(ctx context.Context, results []DeliveryResult, breakers []Breaker) error
	// DisableEndpoint stops deliveries to an endpoint, giving the reason.
	DisableEndpoint(ctx context.Context, id, reason string) error
	// OldestPendingEvent returns when the oldest event with a pending delivery
	// was recorded, or nil when every delivery is settled.
	OldestPendingEvent(ctx context.Context) (*time.Time, error)
}

// EventsQuery selects a page of a tenant's events in the order recorded.
type EventsQuery struct {
	ClientID string
	Type     *string
	AfterSeq int64
	Limit    int
}

// EventDetail is an event with its deliveries and their attempts.
type EventDetail struct {
	Event      models.Event
	Deliveries []models.WebhookDelivery
	Attempts   []models.WebhookAttempt
}

// ClaimedDelivery is a due delivery leased to a dispatcher, with what it
// needs to attempt it.
type ClaimedDelivery struct {
	DeliveryID              int64
	Attempts                int // before this attempt; also the optimistic lock of its result
	EventSeq                int64
	EventID                 string
	Payload                 string
	EndpointID              string
	URL                     string
	Secret                  string
	PreviousSecret          *string
	PreviousSecretExpiresAt *time.Time
	EndpointStatus          string
	EndpointDeleted         bool
	EndpointFailures        int // the endpoint's consecutive failed attempts when claimed
}

// Breaker is an endpoint's circuit breaker after a step's attempts.
type Breaker struct {
	EndpointID          string
	ConsecutiveFailures int
	OpenUntil           *time.Time // nil: closed
}

// DeliveryResult is the outcome of an attempt at a claimed delivery.
type DeliveryResult struct {
	DeliveryID    int64
	Attempts      int  // as claimed: a result for a delivery attempted since is dropped
	Attempted     bool // an HTTP request was made: record the attempt and count it
	Status        string
	NextAttemptAt time.Time // when still pending
	StatusCode    *int
	Error         *string
	AttemptedAt   time.Time
	LatencyMS     int
	EventSeq      int64
	EndpointID    string
}
