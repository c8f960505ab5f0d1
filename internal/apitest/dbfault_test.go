package apitest

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/store/postgres"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/models"
)

// faultTimeouts are short bounds, so that the tests of a hung database
// finish quickly.
var faultTimeouts = postgres.Timeouts{Connect: time.Second, Acquire: time.Second, Statement: 2 * time.Second}

// proxiedEnv is a server on PostgreSQL behind a proxy the test can freeze
// or cut; the function set in beforeWrite runs before each write of people.
func proxiedEnv(t *testing.T) (e *env, proxy *testkit.Proxy, beforeWrite *atomic.Pointer[func()]) {
	t.Helper()
	u, proxy := testkit.ProxiedURL(t, testkit.PostgresURL(t))
	db := testkit.OpenDB(t, testkit.Postgres, u, store.Options{Timeouts: faultTimeouts})
	beforeWrite = &atomic.Pointer[func()]{}
	wrap := func(s investors.Store) investors.Store { return hookedStore{s, beforeWrite} }
	return newEnv(t, testkit.Postgres, testkit.Options{DB: db, WrapStore: wrap}), proxy, beforeWrite
}

type hookedStore struct {
	investors.Store
	beforeWrite *atomic.Pointer[func()]
}

func (s hookedStore) WritePeople(ctx context.Context, clientID string, people []models.Person, lookup []string) ([]investors.PersonRow, error) {
	if fn := s.beforeWrite.Load(); fn != nil {
		(*fn)()
	}
	return s.Store.WritePeople(ctx, clientID, people, lookup)
}

func (e *env) readyz(t *testing.T) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := e.client.GetReadinessWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode(), time.Since(start)
}

// A database that stops answering (frozen, as by SIGSTOP or a network
// partition) takes the instance out of a load balancer within a couple of
// seconds, and a write waiting on it (writes are detached from the client)
// answers a retryable 503 within the statement bound, instead of hanging
// for as long as the database does.
func TestHungDatabaseAnswers503WithinBounds(t *testing.T) {
	t.Parallel()
	e, proxy, beforeWrite := proxiedEnv(t)
	if code, _ := e.readyz(t); code != http.StatusOK {
		t.Fatalf("readyz before the freeze: %d", code)
	}
	e.importRows(t, row("before-freeze"))

	beforeWrite.Store(ptr(proxy.Freeze))
	start := time.Now()
	resp, err := e.client.ImportInvestorsWithResponse(ctx, nil, client.ImportInvestorsJSONRequestBody{Investors: []client.InvestorInput{row("during-freeze")}})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	wantProblem(t, http.StatusServiceUnavailable, resp.Body, resp.StatusCode(), "service_unavailable")
	if resp.HTTPResponse.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if limit := faultTimeouts.Statement + 2*time.Second; elapsed > limit {
		t.Errorf("import answered after %s with the database frozen; want within %s", elapsed, limit)
	}

	code, took := e.readyz(t)
	if code != http.StatusServiceUnavailable || took > 2*time.Second {
		t.Errorf("readyz with the database frozen: %d after %s; want 503 within 2s", code, took)
	}

	beforeWrite.Store(nil)
	proxy.Thaw()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := e.readyz(t); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readyz did not recover after the database thawed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.importRows(t, row("after-thaw"))
	repairedIntact(t, e)
}

// Connections cut mid-request (as `pg_ctl stop -m immediate` does) answer a
// retryable 503, never a 500.
func TestCutConnectionAnswers503(t *testing.T) {
	t.Parallel()
	e, proxy, beforeWrite := proxiedEnv(t)
	e.importRows(t, row("before-cut"))

	beforeWrite.Store(ptr(func() {
		proxy.Freeze()
		go func() {
			if !proxy.Held(5 * time.Second) {
				t.Error("the write never reached the proxy")
			}
			proxy.Cut()
		}()
	}))
	resp, err := e.client.ImportInvestorsWithResponse(ctx, nil, client.ImportInvestorsJSONRequestBody{Investors: []client.InvestorInput{row("during-cut")}})
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, http.StatusServiceUnavailable, resp.Body, resp.StatusCode(), "service_unavailable")

	beforeWrite.Store(nil)
	proxy.Restore()
	e.importRows(t, row("after-cut"))
	repairedIntact(t, e)
}

// repairedIntact is the oracle after a fault: once the completer has run,
// as serve runs it, `zest-api check` finds nothing broken.
func repairedIntact(t *testing.T, e *env) {
	t.Helper()
	if _, err := e.api.Investors.CompleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	integrity(t, e.api)
}
