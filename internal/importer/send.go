package importer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/retry"
)

// Retry bounds the retries of a request, and the resends of a row that
// failed transiently.
type Retry struct {
	Attempts  int           // sends of one request, and of one row (default 6)
	BaseDelay time.Duration // the first backoff, doubled on each retry (default 500ms)
	MaxDelay  time.Duration // the longest backoff (default 30s)
}

// maxRetryAfter caps how long a Retry-After can hold the import.
const maxRetryAfter = 5 * time.Minute

// delay is the backoff before attempt+1, never shorter than floor (a
// Retry-After). The jitter keeps importers that failed together from
// retrying together.
func (r Retry) delay(attempt int, floor time.Duration) time.Duration {
	d := r.BaseDelay
	for i := 1; i < attempt && d < r.MaxDelay; i++ {
		d *= 2
	}
	return max(retry.Jitter(min(d, r.MaxDelay), 0.5, 1), floor)
}

// RequestError is a request that the server refused and that sending again
// cannot fix: a bad token, a tenant without access, a malformed request.
type RequestError struct {
	Batch     string
	Status    int
	Code      string // the problem's code; empty when the answer is not a problem
	Detail    string
	RequestID string
}

func (e *RequestError) Error() string {
	code := ""
	if e.Code != "" {
		code = " " + e.Code
	}
	return fmt.Sprintf("the server refused %s: %d%s: %s (Request-Id %q)", e.Batch, e.Status, code, e.Detail, e.RequestID)
}

// sender posts batches through the generated client.
type sender struct {
	api   *client.ClientWithResponses
	retry Retry
	note  func(format string, args ...any) // reports retries
}

func newSender(ctx context.Context, opts Options) (*sender, error) {
	bearer := func(context.Context) (string, error) { return opts.Token, nil }
	if opts.Token == "" {
		m, err := newMinter(opts)
		if err != nil {
			return nil, err
		}
		// The first token is minted before any batch, so that a refused
		// key stops the import at once rather than after retries.
		if _, err := m.bearer(ctx); err != nil {
			return nil, err
		}
		bearer = m.bearer
	}
	api, err := client.NewClientWithResponses(opts.URL, client.WithHTTPClient(opts.HTTPClient),
		client.WithRequestEditorFn(func(ctx context.Context, req *http.Request) error {
			token, err := bearer(ctx)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("User-Agent", "zest-api-import")
			return nil
		}))
	if err != nil {
		return nil, err
	}
	return &sender{api: api, retry: opts.Retry}, nil
}

// send posts the batch until it is answered, retrying with the same key
// what may succeed later: a lost connection, 409 idempotency_key_in_use,
// 429, 5xx, and any problem marked retryable.
func (s *sender) send(ctx context.Context, b *batch) ([]client.RowResult, error) {
	params := &client.ImportInvestorsParams{IdempotencyKey: &b.key}
	for attempt := 1; ; attempt++ {
		resp, err := s.api.ImportInvestorsWithBodyWithResponse(ctx, params, "application/json", bytes.NewReader(b.body))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var why string
		var floor time.Duration
		switch {
		case err != nil:
			why = transportProblem(err)
		case resp.JSON200 != nil:
			if n := len(resp.JSON200.Results); n != len(b.rows) {
				return nil, fmt.Errorf("%s: the server answered %d results for %d rows", b.label, n, len(b.rows))
			}
			return resp.JSON200.Results, nil
		default:
			p := problemOf(resp)
			if !retryable(resp.StatusCode(), p) {
				return nil, &RequestError{Batch: b.label, Status: resp.StatusCode(), Code: p.Code, Detail: p.Detail,
					RequestID: resp.HTTPResponse.Header.Get("Request-Id")}
			}
			why = fmt.Sprintf("%d %s", resp.StatusCode(), p.Code)
			floor = retry.After(resp.HTTPResponse.Header.Get("Retry-After"), time.Now(), maxRetryAfter)
		}
		if attempt >= s.retry.Attempts {
			return nil, fmt.Errorf("%s: gave up after %d attempts, the last one failed: %s", b.label, attempt, why)
		}
		d := s.retry.delay(attempt, floor)
		s.note("%s: %s; retrying in %s (attempt %d of %d)", b.label, why, d.Round(time.Millisecond), attempt+1, s.retry.Attempts)
		if err := sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// problemOf reads the answer's problem details; an answer that is not one,
// from a proxy say, is described by its status.
func problemOf(resp *client.ImportInvestorsResponse) client.Problem {
	var p client.Problem
	if json.Unmarshal(resp.Body, &p) != nil || p.Detail == "" {
		p.Detail = http.StatusText(resp.StatusCode())
	}
	return p
}

func retryable(status int, p client.Problem) bool {
	return status == http.StatusTooManyRequests || status >= 500 || p.Code == "idempotency_key_in_use" || p.Retryable
}

// transportProblem says in words why a request got no answer: the Go error
// names calls and addresses that a partner cannot act on.
func transportProblem(err error) string {
	var timeout interface{ Timeout() bool }
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	switch {
	case errors.As(err, &dns):
		return fmt.Sprintf("the server's host name %s was not found; check --url", dns.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the server refused the connection; check --url, and that the server is running"
	case errors.As(err, &cert):
		return "the server's TLS certificate was not accepted"
	case errors.As(err, &timeout) && timeout.Timeout():
		return "the server did not answer in time"
	}
	return "the connection to the server failed"
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
