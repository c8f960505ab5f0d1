// Package httpx holds what the HTTP middleware and the handlers share: the
// per-request facts in the context, and entity tags.
//
// The request context carries per-request facts (request id, the address the
// client reached, tenant, row counts) from the middleware and handlers that
// learn them to the handlers that need them and the request log line.
package httpx

import (
	"context"
	"time"
)

// Info is what one request has learnt about itself so far.
type Info struct {
	RequestID string
	// ServerURL is the scheme and host the client reached, as it would
	// write them: "https://api.zestequity.com". The contract names it as
	// its server.
	ServerURL string
	ClientID  string // set once the bearer token is authenticated
	// KeyID and TokenExpiresAt describe an access token: the key that
	// minted it and its expiry. A static token has neither.
	KeyID          string
	TokenExpiresAt *time.Time
	Rows           map[string]int // row outcomes of an import, by status
	Replayed       bool           // answered from an Idempotency-Key record
	// Retryable marks a response that holds a failure a retry may cure:
	// storing it under an Idempotency-Key would answer every retry with
	// that failure.
	Retryable bool
	BodyRead  bool // the request body was read to its end
	// NotUTF8Rows are the import rows, by index, whose bytes were not all
	// UTF-8, each with the first such field ("" when a field name was).
	NotUTF8Rows map[int]string
	ErrorID     string
	ErrorCode   string
}

// Finished is what the request log knows of a request once it is answered,
// for the metrics.
type Finished struct {
	Operation  string // operationId, or "unmatched"
	Status     int
	Latency    time.Duration
	Statements int
	SQLTime    time.Duration // the statements' time, summed
	Rows       map[string]int
	Replayed   bool
}

type key struct{}

// WithInfo returns ctx carrying info.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// InfoFrom returns the request's Info; a request outside the HTTP stack (a test
// calling a handler directly) gets an empty one.
func InfoFrom(ctx context.Context) *Info {
	if info, ok := ctx.Value(key{}).(*Info); ok {
		return info
	}
	return &Info{}
}

// Origin returns the scheme and host the request reached the server at
// (ZEST_PUBLIC_URL when set), or "" outside the HTTP stack.
func Origin(ctx context.Context) string { return InfoFrom(ctx).ServerURL }
