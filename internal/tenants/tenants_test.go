package tenants_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/tenants"
	"github.com/zestequity/zest-api/internal/testkit"
)

var ctx = context.Background()

func TestTokens(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		clock := testkit.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		db := testkit.NewDB(t, d, store.Options{Now: clock.Now})
		svc := tenants.New(db.Store, clock.Now)

		token, err := svc.Create(ctx, "acme", "Acme", true)
		if err != nil {
			t.Fatal(err)
		}
		// zest_ + 80-bit id + 256-bit secret.
		if !regexp.MustCompile(`^zest_[a-z2-7]{16}_[a-z2-7]{52}$`).MatchString(token) {
			t.Fatalf("token %q", token)
		}
		if _, err := svc.Create(ctx, "acme", "", true); err != tenants.ErrTenantExists {
			t.Errorf("second create: %v", err)
		}
		for _, bad := range []string{"", "Acme", "-acme", "acme corp", strings.Repeat("a", 64)} {
			if _, err := svc.Create(ctx, bad, "", true); err != tenants.ErrInvalidClientID {
				t.Errorf("client id %q: %v", bad, err)
			}
		}

		// Only a hash of the secret is stored.
		secret := token[strings.LastIndex(token, "_")+1:]
		var stored []byte
		if err := db.SQL.QueryRow("SELECT secret_hash FROM api_tokens").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if len(stored) != 32 || strings.Contains(string(stored), secret) {
			t.Errorf("stored secret_hash %x", stored)
		}

		ten, err := svc.Authenticate(ctx, "Bearer "+token)
		if err != nil || ten.ClientID != "acme" {
			t.Fatalf("authenticate: %+v %v", ten, err)
		}
		toks, err := svc.ListTokens(ctx, "acme")
		if err != nil || len(toks) != 1 || toks[0].LastUsedAt == nil || !toks[0].LastUsedAt.Equal(clock.Now()) {
			t.Fatalf("tokens after use: %+v %v", toks, err)
		}
		// Last use is recorded at most once a minute.
		clock.Advance(30 * time.Second)
		svc.Authenticate(ctx, "Bearer "+token)
		toks, _ = svc.ListTokens(ctx, "acme")
		if !toks[0].LastUsedAt.Equal(clock.Now().Add(-30 * time.Second)) {
			t.Errorf("last use rewritten within a minute: %v", toks[0].LastUsedAt)
		}
		clock.Advance(time.Minute)
		svc.Authenticate(ctx, "Bearer "+token)
		toks, _ = svc.ListTokens(ctx, "acme")
		if !toks[0].LastUsedAt.Equal(clock.Now()) {
			t.Errorf("last use not recorded after a minute: %v", toks[0].LastUsedAt)
		}

		second, err := svc.CreateToken(ctx, "acme")
		if err != nil || second == token {
			t.Fatal(err)
		}
		if err := svc.RevokeToken(ctx, toks[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, "Bearer "+token); apperr.CodeOf(err) != apperr.InvalidToken {
			t.Errorf("revoked token: %v", err)
		}
		if _, err := svc.Authenticate(ctx, "Bearer "+second); err != nil {
			t.Errorf("the other token: %v", err)
		}
		if err := svc.RevokeToken(ctx, "tok_nope"); err != tenants.ErrTokenNotFound {
			t.Errorf("revoke unknown: %v", err)
		}
		if _, err := svc.CreateToken(ctx, "nope"); err != tenants.ErrTenantNotFound {
			t.Errorf("token for unknown tenant: %v", err)
		}
		if err := svc.Suspend(ctx, "nope"); err != tenants.ErrTenantNotFound {
			t.Errorf("suspend unknown: %v", err)
		}
	})
}
