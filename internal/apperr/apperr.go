// Package apperr defines the application's errors: a small set of codes that
// the HTTP layer maps to statuses in one place. Only an Error's Detail may
// reach a client; its Cause is for the logs.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Code identifies a kind of failure. The values are the `code` members of the
// problem responses declared in openapi.yaml.
type Code string

const (
	InvalidJSON            Code = "invalid_json"
	InvalidRequest         Code = "invalid_request"
	BatchTooLarge          Code = "batch_too_large"
	InvalidCursor          Code = "invalid_cursor"
	InvalidToken           Code = "invalid_token"
	Forbidden              Code = "forbidden"
	NotFound               Code = "not_found"
	MethodNotAllowed       Code = "method_not_allowed"
	PayloadTooLarge        Code = "payload_too_large"
	UnsupportedMediaType   Code = "unsupported_media_type"
	InvalidWebhookURL      Code = "invalid_webhook_url"
	InvalidIdempotencyKey  Code = "invalid_idempotency_key"
	IdempotencyKeyInUse    Code = "idempotency_key_in_use"
	SPVClosed              Code = "spv_closed"
	FormRequired           Code = "form_required"
	SubscriptionCompleted  Code = "subscription_completed"
	CurrencyMismatch       Code = "currency_mismatch"
	IdempotencyKeyMismatch Code = "idempotency_key_mismatch"
	Internal               Code = "internal_error"
	Unavailable            Code = "service_unavailable"
	RateLimited            Code = "rate_limited"
)

// Error is a failure with a code and a client-safe detail.
type Error struct {
	Code   Code
	Detail string // safe to show to the client: never PII, never internal text
	Cause  error  // logged, never shown
	// RetryAfter, when set, is how long a client should wait before
	// retrying; otherwise a retryable code's default applies.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Detail)
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an Error with a formatted detail.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error that records cause for the logs.
func Wrap(cause error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...), Cause: cause}
}

// CodeOf returns the code of the first Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}
