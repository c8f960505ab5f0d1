package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/zestequity/zest-api/generated"
	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/httpx"
	"github.com/zestequity/zest-api/internal/ids"
)

// problemTypeBase prefixes each problem's type URI; the code completes it.
const problemTypeBase = "https://docs.zestequity.com/errors/"

// retryAfterSeconds is the Retry-After sent with retryable problems (409,
// 503): short, because what they wait for usually ends within a second.
const retryAfterSeconds = "1"

type problemKind struct {
	status    int
	title     string
	retryable bool // also sends Retry-After
}

// kinds maps every application error code to its HTTP status: the only place
// where that mapping lives.
var kinds = map[apperr.Code]problemKind{
	apperr.InvalidJSON:            {http.StatusBadRequest, "Invalid JSON", false},
	apperr.InvalidRequest:         {http.StatusBadRequest, "Invalid request", false},
	apperr.BatchTooLarge:          {http.StatusBadRequest, "Batch too large", false},
	apperr.InvalidCursor:          {http.StatusBadRequest, "Invalid cursor", false},
	apperr.InvalidToken:           {http.StatusUnauthorized, "Invalid token", false},
	apperr.Forbidden:              {http.StatusForbidden, "Forbidden", false},
	apperr.NotFound:               {http.StatusNotFound, "Not found", false},
	apperr.MethodNotAllowed:       {http.StatusMethodNotAllowed, "Method not allowed", false},
	apperr.PayloadTooLarge:        {http.StatusRequestEntityTooLarge, "Payload too large", false},
	apperr.UnsupportedMediaType:   {http.StatusUnsupportedMediaType, "Unsupported media type", false},
	apperr.InvalidWebhookURL:      {http.StatusBadRequest, "Invalid webhook URL", false},
	apperr.InvalidIdempotencyKey:  {http.StatusBadRequest, "Invalid idempotency key", false},
	apperr.IdempotencyKeyInUse:    {http.StatusConflict, "Idempotency key in use", true},
	apperr.SPVClosed:              {http.StatusConflict, "SPV closed", false},
	apperr.FormRequired:           {http.StatusConflict, "Form required", false},
	apperr.SubscriptionCompleted:  {http.StatusConflict, "Subscription completed", false},
	apperr.CurrencyMismatch:       {http.StatusBadRequest, "Currency mismatch", false},
	apperr.IdempotencyKeyMismatch: {http.StatusUnprocessableEntity, "Idempotency key mismatch", false},
	apperr.Internal:               {http.StatusInternalServerError, "Internal error", true},
	apperr.Unavailable:            {http.StatusServiceUnavailable, "Service unavailable", true},
	apperr.RateLimited:            {http.StatusTooManyRequests, "Rate limited", true},
}

// writeProblem answers err as an RFC 9457 problem and logs it under a fresh
// errorId. Only an *apperr.Error's Detail reaches the client; anything else is
// an internal error whose text stays in the log.
func writeProblem(c *gin.Context, log *slog.Logger, err error) {
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		ae = &apperr.Error{Code: apperr.Internal, Cause: err}
	}
	kind, ok := kinds[ae.Code]
	if !ok {
		ae = &apperr.Error{Code: apperr.Internal, Cause: err}
		kind = kinds[apperr.Internal]
	}
	detail := ae.Detail
	if ae.Code == apperr.Internal {
		detail = "An unexpected error occurred. Quote the errorId to Zest support."
	}
	errorID := ids.New("err_")
	info := httpx.InfoFrom(c.Request.Context())
	info.ErrorID, info.ErrorCode = errorID, string(ae.Code)

	attrs := []any{"request_id", info.RequestID, "error_id", errorID, "code", ae.Code, "status", kind.status}
	if ae.Cause != nil {
		attrs = append(attrs, "cause", ae.Cause.Error())
	}
	switch {
	case c.Request.Context().Err() != nil && errors.Is(err, context.Canceled):
		// The client hung up, which cancelled the work: nothing failed.
		log.InfoContext(c, "request abandoned by the client", attrs...)
	case kind.status >= 500:
		log.ErrorContext(c, "request failed", attrs...)
	default:
		log.InfoContext(c, "request rejected", append(attrs, "detail", detail)...)
	}

	if c.Request.ContentLength != 0 && !info.BodyRead {
		abandonBody(c)
	}
	if ae.Code == apperr.InvalidToken {
		c.Header("WWW-Authenticate", bearerChallenge(c.Request))
	}
	switch {
	case ae.RetryAfter > 0:
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(ae.RetryAfter.Seconds()))))
	case kind.retryable && kind.status != http.StatusInternalServerError:
		c.Header("Retry-After", retryAfterSeconds)
	}
	c.Header("Content-Type", "application/problem+json")
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(kind.status, generated.Problem{
		Type:      problemTypeBase + string(ae.Code),
		Title:     kind.title,
		Status:    kind.status,
		Detail:    detail,
		Code:      string(ae.Code),
		ErrorId:   errorID,
		Retryable: kind.retryable,
	})
}

// bearerChallenge is the WWW-Authenticate of a 401 (RFC 6750, section 3):
// a request that sent no credentials is only told the scheme; one whose
// credentials were refused is told why.
func bearerChallenge(r *http.Request) string {
	if r.Header.Get("Authorization") == "" {
		return "Bearer"
	}
	return `Bearer error="invalid_token"`
}
