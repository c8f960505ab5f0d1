package idempotency_test

import (
	"context"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/idempotency"
	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/models"
)

var ctx = context.Background()

func TestFingerprintIsCanonical(t *testing.T) {
	a := idempotency.Fingerprint([]byte(`{"b":1,"a":[1,2,{"y":"x","x":1.50}]}`))
	b := idempotency.Fingerprint([]byte("{ \"a\" : [1, 2, {\"x\": 1.50, \"y\": \"x\"}],\n \"b\": 1 }"))
	if a != b {
		t.Error("whitespace or key order changed the fingerprint")
	}
	for _, other := range []string{`{"b":2,"a":[1,2,{"y":"x","x":1.50}]}`, `{"b":1,"a":[2,1,{"y":"x","x":1.50}]}`, `{"b":1}`} {
		if idempotency.Fingerprint([]byte(other)) == a {
			t.Errorf("%s has the same fingerprint", other)
		}
	}
	if idempotency.Fingerprint([]byte("not json")) == idempotency.Fingerprint([]byte("not  json")) {
		t.Error("non-JSON bodies are compared as they are")
	}
}

// A key is bound to its method and route as well as its body.
func TestKeyIsBoundToRoute(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		db := testkit.NewDB(t, d, store.Options{})
		if err := db.Store.CreateTenant(ctx, models.Tenant{ClientID: "acme", Name: "acme", Status: models.TenantActive},
			models.APIToken{ID: "tok_acme", ClientID: "acme", SecretHash: []byte{1}}); err != nil {
			t.Fatal(err)
		}
		clock := testkit.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		svc := idempotency.New(db.Store, idempotency.Options{Now: clock.Now})
		req := idempotency.Request{ClientID: "acme", Key: "k", Method: "POST", Route: "/v1/investors", Body: []byte(`{}`)}
		claim, _, err := svc.Begin(ctx, req)
		if err != nil || claim == nil {
			t.Fatal(claim, err)
		}
		svc.Complete(ctx, claim, idempotency.Response{Status: 201, ContentType: "application/json", Body: []byte(`{"ok":true}`)})

		other := req
		other.Route = "/v1/webhook-endpoints"
		if _, _, err := svc.Begin(ctx, other); apperr.CodeOf(err) != apperr.IdempotencyKeyMismatch {
			t.Errorf("another route: %v", err)
		}
		other = req
		other.Method = "PUT"
		if _, _, err := svc.Begin(ctx, other); apperr.CodeOf(err) != apperr.IdempotencyKeyMismatch {
			t.Errorf("another method: %v", err)
		}
		_, replay, err := svc.Begin(ctx, req)
		if err != nil || replay == nil || replay.Status != 201 || string(replay.Body) != `{"ok":true}` || replay.ContentType != "application/json" {
			t.Errorf("replay: %+v %v", replay, err)
		}
		// Expired, the key serves any request anew.
		clock.Advance(idempotency.DefaultTTL)
		if claim, _, err := svc.Begin(ctx, other); err != nil || claim == nil {
			t.Errorf("expired key: %v %v", claim, err)
		}
	})
}

func TestStorable(t *testing.T) {
	for status, want := range map[int]bool{200: true, 201: true, 404: true, 422: true, 409: false, 429: false, 500: false, 503: false} {
		if idempotency.Storable(status) != want {
			t.Errorf("Storable(%d) != %v", status, want)
		}
	}
}
