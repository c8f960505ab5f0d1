// Package models holds the storage types, mapped to tables by GORM. They are
// separate from the wire types in generated/: the database and the contract
// evolve on their own schedules.
//
// The schema itself is created by the versioned migrations in store/; a test
// proves that these models and the migrated schema agree.
package models

import "time"

// Tenant statuses.
const (
	TenantUnprovisioned = "unprovisioned"
	TenantActive        = "active"
	TenantSuspended     = "suspended"
)

// Tenant is a partner, identified by its client_id.
type Tenant struct {
	ClientID  string    `gorm:"column:client_id;primaryKey"`
	Name      string    `gorm:"column:name;not null"`
	Status    string    `gorm:"column:status;not null"`
	CreatedAt time.Time `gorm:"column:created_at;not null"`
	UpdatedAt time.Time `gorm:"column:updated_at;not null"`
}

// APIToken is a tenant's bearer token. Only a hash of its secret is stored.
type APIToken struct {
	ID         string     `gorm:"column:id;primaryKey"`
	ClientID   string     `gorm:"column:client_id;not null;index:api_tokens_client_id_idx"`
	SecretHash []byte     `gorm:"column:secret_hash;not null"`
	CreatedAt  time.Time  `gorm:"column:created_at;not null"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
}

func (APIToken) TableName() string { return "api_tokens" }

// Key types of a PartnerKey; each allows its own signing algorithms.
const (
	KeyTypeEd25519 = "ed25519"
	KeyTypeP256    = "ec-p256"
	KeyTypeRSA     = "rsa"
)

// PartnerKey is a public key with which a tenant signs the assertions it
// exchanges for access tokens. A tenant may hold several at once, so that
// it can rotate without downtime.
type PartnerKey struct {
	ClientID  string     `gorm:"column:client_id;primaryKey"`
	KID       string     `gorm:"column:kid;primaryKey"`
	KeyType   string     `gorm:"column:key_type;not null"`
	PublicKey string     `gorm:"column:public_key;not null"` // PEM, SubjectPublicKeyInfo
	CreatedAt time.Time  `gorm:"column:created_at;not null"`
	RevokedAt *time.Time `gorm:"column:revoked_at"`
	// FromJWKS marks a key fetched from the tenant's JWKS: revoked when it
	// leaves the JWKS, and never replaced by a key of the same kid.
	FromJWKS bool `gorm:"column:from_jwks;not null;default:false"`
}

// PartnerJWKS is the URL at which a tenant publishes its public keys as a
// JSON Web Key Set (RFC 7517), in place of, or beside, registered keys.
type PartnerJWKS struct {
	ClientID  string    `gorm:"column:client_id;primaryKey"`
	URL       string    `gorm:"column:url;not null"`
	CreatedAt time.Time `gorm:"column:created_at;not null"`
}

// TableName is partner_jwks, not GORM's plural.
func (PartnerJWKS) TableName() string { return "partner_jwks" }

// UsedAssertion records an accepted assertion's jti until it expires: the
// primary key is what refuses a replay, across processes.
type UsedAssertion struct {
	ClientID  string    `gorm:"column:client_id;primaryKey"`
	JTI       string    `gorm:"column:jti;primaryKey"`
	ExpiresAt time.Time `gorm:"column:expires_at;not null;index:used_assertions_expires_at_idx"`
}

// AccessToken is a short-lived bearer token minted from an assertion. Only
// its SHA-256 is stored; it dies with the key that minted it.
type AccessToken struct {
	Hash      []byte    `gorm:"column:hash;primaryKey"`
	ClientID  string    `gorm:"column:client_id;not null"`
	KID       string    `gorm:"column:kid;not null"`
	CreatedAt time.Time `gorm:"column:created_at;not null"`
	ExpiresAt time.Time `gorm:"column:expires_at;not null;index:access_tokens_expires_at_idx"`
}

// KYC values recorded on a Person.
const (
	KYCManagedByPartner        = "partner"
	KYCFlagCountryNotRiskRated = "country_not_risk_rated"
)

// Person is the HoldCo identity record: the investor's PII and the tenant's
// (client_id, partner_investor_id) mapping. Its public id is ZestPersonID.
type Person struct {
	ID                 int64      `gorm:"column:id;primaryKey"`
	ZestPersonID       string     `gorm:"column:zest_person_id;not null;uniqueIndex:people_zest_person_id_key"`
	ClientID           string     `gorm:"column:client_id;not null;uniqueIndex:people_partner_investor_id_client_key,priority:2;uniqueIndex:people_email_client_key,priority:2"`
	PartnerInvestorID  string     `gorm:"column:partner_investor_id;not null;uniqueIndex:people_partner_investor_id_client_key,priority:1"`
	Email              string     `gorm:"column:email;not null"`
	EmailNormalized    string     `gorm:"column:email_normalized;not null;uniqueIndex:people_email_client_key,priority:1"`
	FirstName          string     `gorm:"column:first_name;not null"`
	LastName           string     `gorm:"column:last_name;not null"`
	DateOfBirth        Date       `gorm:"column:date_of_birth;not null"`
	CountryOfResidence *string    `gorm:"column:country_of_residence"`
	KYCManagedBy       string     `gorm:"column:kyc_managed_by;not null"`
	KYCFlags           StringList `gorm:"column:kyc_flags;not null"`
	CreatedAt          time.Time  `gorm:"column:created_at;not null"`
}

// OTP methods of a User.
const OTPMethodEmail = "email"

// User is the DIFC platform account paired to a Person. Downstream endpoints
// (subscriptions, uploads) resolve an investor through it, so every Person
// reported created has exactly one.
type User struct {
	ID              int64     `gorm:"column:id;primaryKey"`
	PersonID        int64     `gorm:"column:person_id;not null;uniqueIndex:users_person_id_key"`
	ClientID        string    `gorm:"column:client_id;not null"`
	Email           string    `gorm:"column:email;not null"`
	EmailIsVerified bool      `gorm:"column:email_is_verified;not null"`
	OTPMethod       string    `gorm:"column:otp_method;not null"`
	Phone           string    `gorm:"column:phone;not null"`
	CreatedAt       time.Time `gorm:"column:created_at;not null"`
}

// All lists every model, for schema checks.
func All() []any {
	return []any{&Tenant{}, &APIToken{}, &Person{}, &User{}, &IdempotencyKey{},
		&WebhookEndpoint{}, &Event{}, &WebhookDelivery{}, &WebhookAttempt{}, &SPV{}, &ShareClass{}, &Subscription{},
		&SubscriptionDocument{}, &PartnerKey{}, &PartnerJWKS{}, &UsedAssertion{}, &AccessToken{}}
}

// IdempotencyKey is a tenant's Idempotency-Key: claimed (LockID set) while
// its request runs, then holding the response to replay until ExpiresAt.
type IdempotencyKey struct {
	ClientID        string     `gorm:"column:client_id;primaryKey"`
	Key             string     `gorm:"column:key;primaryKey"`
	Method          string     `gorm:"column:method;not null"`
	Route           string     `gorm:"column:route;not null"`
	Fingerprint     string     `gorm:"column:fingerprint;not null"`
	LockID          *string    `gorm:"column:lock_id"`
	LockedUntil     *time.Time `gorm:"column:locked_until"`
	ResponseStatus  *int       `gorm:"column:response_status"`
	ResponseHeaders *string    `gorm:"column:response_headers"`
	ResponseBody    []byte     `gorm:"column:response_body"`
	CreatedAt       time.Time  `gorm:"column:created_at;not null"`
	ExpiresAt       time.Time  `gorm:"column:expires_at;not null;index:idempotency_keys_expires_at_idx"`
}

// Webhook endpoint statuses.
const (
	EndpointEnabled  = "enabled"
	EndpointDisabled = "disabled"
)

// WebhookEndpoint is a tenant's URL that receives its events.
type WebhookEndpoint struct {
	ID                      string     `gorm:"column:id;primaryKey"`
	ClientID                string     `gorm:"column:client_id;not null;index:webhook_endpoints_client_id_idx"`
	URL                     string     `gorm:"column:url;not null"`
	Description             *string    `gorm:"column:description"`
	Status                  string     `gorm:"column:status;not null"`
	DisabledReason          *string    `gorm:"column:disabled_reason"`
	Secret                  string     `gorm:"column:secret;not null"`
	PreviousSecret          *string    `gorm:"column:previous_secret"`
	PreviousSecretExpiresAt *time.Time `gorm:"column:previous_secret_expires_at"`
	CreatedAt               time.Time  `gorm:"column:created_at;not null"`
	UpdatedAt               time.Time  `gorm:"column:updated_at;not null"`
	DeletedAt               *time.Time `gorm:"column:deleted_at"`
	// The endpoint's circuit breaker: failed attempts since the last
	// success and, once they reach the dispatcher's threshold, the time
	// before which no attempt is made but one probe.
	ConsecutiveFailures int        `gorm:"column:consecutive_failures;not null;default:0"`
	OpenUntil           *time.Time `gorm:"column:open_until"`
}

// Event types.
const (
	EventInvestorCreated       = "investor.created"
	EventSubscriptionCreated   = "subscription.created"
	EventSubscriptionCompleted = "subscription.completed"
	EventFormUploaded          = "signed_subscription_form.uploaded"
	EventFundingUploaded       = "funding_receipt.uploaded"
)

// Event is an outbox record, written in the transaction that makes it true.
type Event struct {
	Seq      int64  `gorm:"column:seq;primaryKey"`
	EventID  string `gorm:"column:event_id;not null;uniqueIndex:events_event_id_key"`
	ClientID string `gorm:"column:client_id;not null;index:events_client_id_seq_idx,priority:1"`
	Type     string `gorm:"column:type;not null;uniqueIndex:events_subscription_type_key,priority:2,where:subscription_id IS NOT NULL AND (type = 'subscription.created' OR type = 'subscription.completed')"`
	PersonID *int64 `gorm:"column:person_id;uniqueIndex:events_investor_created_key,where:type = 'investor.created'"`
	// SubscriptionID is set on the events of a subscription.
	SubscriptionID *int64    `gorm:"column:subscription_id;uniqueIndex:events_subscription_type_key,priority:1"`
	Payload        string    `gorm:"column:payload;not null"`
	CreatedAt      time.Time `gorm:"column:created_at;not null"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event's delivery to one endpoint.
type WebhookDelivery struct {
	ID             int64      `gorm:"column:id;primaryKey"`
	EventSeq       int64      `gorm:"column:event_seq;not null;uniqueIndex:webhook_deliveries_event_endpoint_key,priority:1"`
	EndpointID     string     `gorm:"column:endpoint_id;not null;uniqueIndex:webhook_deliveries_event_endpoint_key,priority:2;index:webhook_deliveries_endpoint_idx,priority:1"`
	Status         string     `gorm:"column:status;not null;index:webhook_deliveries_endpoint_idx,priority:2"`
	Attempts       int        `gorm:"column:attempts;not null"`
	NextAttemptAt  time.Time  `gorm:"column:next_attempt_at;not null;index:webhook_deliveries_due_idx,where:status = 'pending'"`
	LockedUntil    *time.Time `gorm:"column:locked_until"`
	LastStatusCode *int       `gorm:"column:last_status_code"`
	LastError      *string    `gorm:"column:last_error"`
	CreatedAt      time.Time  `gorm:"column:created_at;not null;index:webhook_deliveries_endpoint_idx,priority:3"`
	UpdatedAt      time.Time  `gorm:"column:updated_at;not null"`
	DeliveredAt    *time.Time `gorm:"column:delivered_at"`
}

// WebhookAttempt records one HTTP attempt of a delivery.
type WebhookAttempt struct {
	ID          int64     `gorm:"column:id;primaryKey"`
	DeliveryID  int64     `gorm:"column:delivery_id;not null"`
	EventSeq    int64     `gorm:"column:event_seq;not null;index:webhook_attempts_event_seq_idx"`
	EndpointID  string    `gorm:"column:endpoint_id;not null"`
	AttemptedAt time.Time `gorm:"column:attempted_at;not null"`
	StatusCode  *int      `gorm:"column:status_code"`
	LatencyMS   int       `gorm:"column:latency_ms;not null"`
	Error       *string   `gorm:"column:error"`
}

// SPV statuses.
const (
	SPVOpen   = "open"
	SPVClosed = "closed"
)

// SPV is a special purpose vehicle that a tenant's investors subscribe to.
// Amounts are exact decimal strings (numeric in PostgreSQL, TEXT in SQLite).
type SPV struct {
	ID        int64      `gorm:"column:id;primaryKey"`
	Slug      string     `gorm:"column:slug;not null;uniqueIndex:spvs_slug_key"`
	ClientID  string     `gorm:"column:client_id;not null;index:spvs_client_id_idx"`
	Name      string     `gorm:"column:name;not null"`
	Currency  string     `gorm:"column:currency;not null"`
	MinAmount *string    `gorm:"column:min_amount"`
	Status    string     `gorm:"column:status;not null"`
	CreatedAt time.Time  `gorm:"column:created_at;not null"`
	ClosedAt  *time.Time `gorm:"column:closed_at"`
}

func (SPV) TableName() string { return "spvs" }

// ShareClass is a class of shares of an SPV.
type ShareClass struct {
	ID    int64  `gorm:"column:id;primaryKey"`
	SPVID int64  `gorm:"column:spv_id;not null;uniqueIndex:share_classes_spv_slug_key,priority:1"`
	Slug  string `gorm:"column:slug;not null;uniqueIndex:share_classes_spv_slug_key,priority:2"`
	Name  string `gorm:"column:name;not null"`
}

// Subscription statuses, in lifecycle order.
const (
	SubscriptionPending         = "pending"
	SubscriptionFormReceived    = "form_received"
	SubscriptionFundingReceived = "funding_received"
	SubscriptionCompleted       = "completed"
)

// Subscription is an investor's subscription to an SPV, at most one per
// (SPV, person). It records the User it was resolved through.
type Subscription struct {
	ID                    int64      `gorm:"column:id;primaryKey"`
	SubscriptionSlug      string     `gorm:"column:subscription_slug;not null;uniqueIndex:subscriptions_slug_key"`
	ClientID              string     `gorm:"column:client_id;not null"`
	SPVID                 int64      `gorm:"column:spv_id;not null;uniqueIndex:subscriptions_spv_person_key,priority:1;index:subscriptions_spv_status_idx,priority:1"`
	PersonID              int64      `gorm:"column:person_id;not null;uniqueIndex:subscriptions_spv_person_key,priority:2"`
	UserID                int64      `gorm:"column:user_id;not null"`
	ShareClassID          int64      `gorm:"column:share_class_id;not null"`
	Currency              string     `gorm:"column:currency;not null"`
	Amount                string     `gorm:"column:amount;not null"`
	PartnerSubscriptionID *string    `gorm:"column:partner_subscription_id"`
	Status                string     `gorm:"column:status;not null;index:subscriptions_spv_status_idx,priority:2"`
	CreatedAt             time.Time  `gorm:"column:created_at;not null"`
	UpdatedAt             time.Time  `gorm:"column:updated_at;not null"`
	CompletedAt           *time.Time `gorm:"column:completed_at"`
}

// Kinds of subscription documents.
const (
	DocumentSubscriptionForm = "subscription_form"
	DocumentFundingReceipt   = "funding_receipt"
)

// SubscriptionDocument is an uploaded file of a subscription; the file is in
// object storage under BlobKey. The latest of each kind is the current one,
// the earlier ones its history.
type SubscriptionDocument struct {
	ID             int64     `gorm:"column:id;primaryKey"`
	SubscriptionID int64     `gorm:"column:subscription_id;not null;index:subscription_documents_subscription_idx,priority:1"`
	Kind           string    `gorm:"column:kind;not null"`
	BlobKey        string    `gorm:"column:blob_key;not null;uniqueIndex:subscription_documents_blob_key_key"`
	SHA256         string    `gorm:"column:sha256;not null"`
	Size           int64     `gorm:"column:size;not null"`
	MediaType      string    `gorm:"column:media_type;not null"`
	Amount         *string   `gorm:"column:amount"`
	Currency       *string   `gorm:"column:currency"`
	WireReference  *string   `gorm:"column:wire_reference"`
	UploadedAt     time.Time `gorm:"column:uploaded_at;not null"`
}
