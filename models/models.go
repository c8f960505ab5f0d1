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
	ClientID           string     `gorm:"column:client_id;not null;uniqueIndex:people_client_partner_investor_id_key,priority:1;uniqueIndex:people_client_email_key,priority:1"`
	PartnerInvestorID  string     `gorm:"column:partner_investor_id;not null;uniqueIndex:people_client_partner_investor_id_key,priority:2"`
	Email              string     `gorm:"column:email;not null"`
	EmailNormalized    string     `gorm:"column:email_normalized;not null;uniqueIndex:people_client_email_key,priority:2"`
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
	return []any{&Tenant{}, &APIToken{}, &Person{}, &User{}, &IdempotencyKey{}}
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
