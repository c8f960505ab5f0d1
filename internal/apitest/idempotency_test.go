package apitest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/idempotency"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/testkit"
)

func withKey(key string) client.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Idempotency-Key", key)
		return nil
	}
}

const oneRow = `{"investors":[{"partnerInvestorId":"idem-1","email":"idem1@example.com","firstName":"Ida","lastName":"Em","dateOfBirth":"1990-05-06"}]}`

// The same row with other whitespace and key order: the same request.
const oneRowReordered = `{ "investors" : [ { "lastName":"Em", "dateOfBirth":"1990-05-06",
	"email":"idem1@example.com", "firstName":"Ida", "partnerInvestorId":"idem-1" } ] }`

func (e *env) post(t testing.TB, body string, edit ...client.RequestEditorFn) *client.ImportInvestorsResponse {
	t.Helper()
	resp, err := e.client.ImportInvestorsWithBodyWithResponse(ctx, nil, "application/json", strings.NewReader(body), edit...)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// A retry with the key gets the original response byte for byte, marked
// replayed, and writes nothing.
func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		first := e.post(t, oneRow, withKey("key-1"))
		if first.StatusCode() != 200 || first.JSON200.Results[0].Status != client.RowStatusCreated {
			t.Fatalf("first: %d %s", first.StatusCode(), first.Body)
		}
		if h := first.HTTPResponse.Header.Get("Idempotent-Replayed"); h != "" {
			t.Errorf("original response marked replayed: %q", h)
		}
		for _, body := range []string{oneRow, oneRowReordered} {
			again := e.post(t, body, withKey("key-1"))
			if again.StatusCode() != 200 || !bytes.Equal(again.Body, first.Body) {
				t.Fatalf("replay: %d %s, want the original bytes %s", again.StatusCode(), again.Body, first.Body)
			}
			h := again.HTTPResponse.Header
			if h.Get("Idempotent-Replayed") != "true" || h.Get("Content-Type") != first.HTTPResponse.Header.Get("Content-Type") {
				t.Errorf("replay headers: %v", h)
			}
			if h.Get("Request-Id") == first.HTTPResponse.Header.Get("Request-Id") {
				t.Errorf("replay reused the original Request-Id")
			}
		}
		if n := e.api.DB.Count(t, "people"); n != 1 {
			t.Errorf("%d people", n)
		}
		// Without the key, the same row is deduplicated by partnerInvestorId.
		plain := e.post(t, oneRow)
		if plain.JSON200.Results[0].Status != client.RowStatusAlreadyExists {
			t.Errorf("without a key: %s", plain.Body)
		}
	})
}

// A key reused for a different request is refused and nothing happens.
func TestIdempotencyKeyMismatch(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		e.post(t, oneRow, withKey("key-m"))
		other := strings.Replace(oneRow, "idem-1", "idem-2", 1)
		resp := e.post(t, other, withKey("key-m"))
		wantProblem(t, 422, resp.Body, resp.StatusCode(), "idempotency_key_mismatch")
		if n := e.api.DB.Count(t, "people"); n != 1 {
			t.Errorf("%d people: the mismatched request was processed", n)
		}
	})
}

// Many requests racing on one key: exactly one runs; the others are told
// it is in use, or receive its response.
func TestIdempotencyKeyRace(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		const clients = 16
		resps := make([]*client.ImportInvestorsResponse, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() { resps[i] = e.post(t, oneRow, withKey("key-race")) })
		}
		wg.Wait()
		var original []byte
		executed, replayed, inUse := 0, 0, 0
		for _, r := range resps {
			switch {
			case r.StatusCode() == 200 && r.HTTPResponse.Header.Get("Idempotent-Replayed") == "":
				executed++
				original = r.Body
			case r.StatusCode() == 200:
				replayed++
			case r.StatusCode() == 409:
				inUse++
				wantProblem(t, 409, r.Body, r.StatusCode(), "idempotency_key_in_use")
				if r.HTTPResponse.Header.Get("Retry-After") == "" {
					t.Error("409 without Retry-After")
				}
			default:
				t.Fatalf("answered %d: %s", r.StatusCode(), r.Body)
			}
		}
		if executed != 1 {
			t.Fatalf("%d requests executed, want 1 (%d replayed, %d in use)", executed, replayed, inUse)
		}
		for _, r := range resps {
			if r.StatusCode() == 200 && !bytes.Equal(r.Body, original) {
				t.Errorf("a replay differs from the original: %s", r.Body)
			}
		}
		if n := e.api.DB.Count(t, "people"); n != 1 {
			t.Errorf("%d people", n)
		}
	})
}

// One key string under two tenants: two independent requests.
func TestIdempotencyKeysAreTenantScoped(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		api := testkit.NewAPI(t, d, testkit.Options{})
		acme := &env{api: api, client: api.Client(t, api.Tenant(t, "acme"))}
		beta := &env{api: api, client: api.Client(t, api.Tenant(t, "beta"))}
		a := acme.post(t, oneRow, withKey("shared"))
		b := beta.post(t, oneRow, withKey("shared"))
		for _, r := range []*client.ImportInvestorsResponse{a, b} {
			if r.StatusCode() != 200 || r.HTTPResponse.Header.Get("Idempotent-Replayed") != "" || r.JSON200.Results[0].Status != client.RowStatusCreated {
				t.Errorf("%d %v %s", r.StatusCode(), r.HTTPResponse.Header, r.Body)
			}
		}
		if *a.JSON200.Results[0].ZestPersonId == *b.JSON200.Results[0].ZestPersonId {
			t.Error("both tenants got one person")
		}
	})
}

// After the TTL a key is new again; the sweeper deletes expired records.
func TestIdempotencyKeyExpiry(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		clock := testkit.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		e := newEnv(t, d, testkit.Options{Now: clock.Now})
		e.post(t, oneRow, withKey("key-ttl"))
		e.post(t, strings.Replace(oneRow, "idem-1", "idem-9", 1), withKey("key-other"))

		clock.Advance(24*time.Hour - time.Second)
		if r := e.post(t, oneRow, withKey("key-ttl")); r.HTTPResponse.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay within the TTL: %v", r.HTTPResponse.Header)
		}
		if n, err := e.api.Idempotency.Sweep(ctx); err != nil || n != 0 {
			t.Errorf("swept %d before expiry: %v", n, err)
		}

		clock.Advance(2 * time.Second)
		r := e.post(t, oneRow, withKey("key-ttl"))
		if r.HTTPResponse.Header.Get("Idempotent-Replayed") != "" || r.JSON200.Results[0].Status != client.RowStatusAlreadyExists {
			t.Errorf("after the TTL: %v %s", r.HTTPResponse.Header, r.Body)
		}
		// key-ttl was renewed by that request; key-other expired.
		if n, err := e.api.Idempotency.Sweep(ctx); err != nil || n != 1 {
			t.Errorf("swept %d: %v", n, err)
		}
		if n := e.api.DB.Count(t, "idempotency_keys"); n != 1 {
			t.Errorf("%d records left", n)
		}
	})
}

// A claim left by a request whose process died blocks the key until the lock
// timeout; then a retry runs the request.
func TestOrphanedClaimExpires(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		clock := testkit.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		e := newEnv(t, d, testkit.Options{Now: clock.Now, IdempotencyLockTimeout: 30 * time.Second})
		// The dead request claimed the key and never answered.
		claim, _, err := e.api.Idempotency.Begin(ctx, idempotency.Request{
			ClientID: "acme", Key: "key-orphan", Method: "POST", Route: "/v1/investors", Body: []byte(oneRow)})
		if err != nil || claim == nil {
			t.Fatal(claim, err)
		}
		r := e.post(t, oneRow, withKey("key-orphan"))
		wantProblem(t, 409, r.Body, r.StatusCode(), "idempotency_key_in_use")

		clock.Advance(31 * time.Second)
		r = e.post(t, oneRow, withKey("key-orphan"))
		if r.StatusCode() != 200 || r.JSON200.Results[0].Status != client.RowStatusCreated {
			t.Fatalf("after the lock timeout: %d %s", r.StatusCode(), r.Body)
		}
		// The dead request's late completion cannot overwrite the new owner's.
		e.api.Idempotency.Complete(ctx, claim, idempotency.Response{Status: 200, ContentType: "text/plain", Body: []byte("stale")})
		again := e.post(t, oneRow, withKey("key-orphan"))
		if !bytes.Equal(again.Body, r.Body) {
			t.Errorf("replay after a stale completion: %s", again.Body)
		}
	})
}

// After a 5xx the key is released: the retry runs the request again.
func TestServerErrorIsNotStored(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		fp := &failingPairs{}
		e := newEnv(t, d, testkit.Options{WrapStore: func(s investors.Store) investors.Store { fp.Store = s; return fp }})
		fp.failWith(errors.New("disk on fire"))
		r := e.post(t, oneRow, withKey("key-5xx"))
		wantProblem(t, 500, r.Body, r.StatusCode(), "internal_error")
		fp.heal()
		r = e.post(t, oneRow, withKey("key-5xx"))
		if r.StatusCode() != 200 || r.HTTPResponse.Header.Get("Idempotent-Replayed") != "" || r.JSON200.Results[0].Status != client.RowStatusCreated {
			t.Errorf("retry after a 500: %d %v %s", r.StatusCode(), r.HTTPResponse.Header, r.Body)
		}
	})
}

// A response holding a retryable row failure is not stored: the README tells
// the partner to retry with the same key, and that retry runs anew.
func TestRetryableRowFailureIsNotStored(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		fp := &failingPairs{}
		e := newEnv(t, d, testkit.Options{WrapStore: func(s investors.Store) investors.Store { fp.Store = s; return fp }})
		fp.failWith(apperr.Wrap(errors.New("terminating connection"), apperr.Unavailable, "unavailable"))
		r := e.post(t, oneRow, withKey("key-retryable"))
		if r.StatusCode() != 200 {
			t.Fatalf("status %d %s", r.StatusCode(), r.Body)
		}
		wantRow(t, *r.JSON200, 0, client.RowStatusFailed, client.RowErrorCodeUnavailable, "")
		fp.heal()
		r = e.post(t, oneRow, withKey("key-retryable"))
		if r.StatusCode() != 200 || r.HTTPResponse.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("retry after a retryable failure: %d %v %s", r.StatusCode(), r.HTTPResponse.Header, r.Body)
		}
		wantRow(t, *r.JSON200, 0, client.RowStatusCreated, "", "")
		checkPairs(t, e.api.DB)
	})
}

// Requests refused before the handler (authentication, validation) claim no
// key; a malformed key is refused.
func TestRefusedRequestsClaimNoKey(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		r := e.post(t, oneRow, withKey("key-r"), authHeader("Bearer nope"))
		wantProblem(t, 401, r.Body, r.StatusCode(), "invalid_token")
		r = e.post(t, `{"investors":[]}`, withKey("key-r"))
		wantProblem(t, 400, r.Body, r.StatusCode(), "invalid_request")
		r = e.post(t, oneRow, withKey("key-r"))
		if r.StatusCode() != 200 || r.JSON200.Results[0].Status != client.RowStatusCreated {
			t.Errorf("first accepted request: %d %s", r.StatusCode(), r.Body)
		}
		for _, bad := range []string{strings.Repeat("k", 256), "clé", "tab\there", "\xff\xfe"} {
			r := e.post(t, oneRow, withKey(bad))
			wantProblem(t, 400, r.Body, r.StatusCode(), "invalid_idempotency_key")
		}
		if r := e.post(t, strings.Replace(oneRow, "idem-1", "idem-2", 1), withKey(strings.Repeat("k", 255))); r.StatusCode() != 200 {
			t.Errorf("255-character key: %d", r.StatusCode())
		}
	})
}
