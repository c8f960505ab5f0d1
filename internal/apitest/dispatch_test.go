package apitest

import (
	"net/http"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/internal/webhooks"
)

// wantSettled requires that no delivery is pending.
func wantSettled(t *testing.T, e *env) {
	t.Helper()
	if oldest, err := e.api.Store.OldestPendingEvent(ctx); err != nil || oldest != nil {
		t.Fatalf("an event is still undelivered, since %v: %v", oldest, err)
	}
}

// Two dispatchers on one PostgreSQL database share a backlog: both work, and
// each event is delivered once.
func TestTwoDispatchersDeliverEachEventOnce(t *testing.T) {
	testkit.RequirePostgres(t)
	e := newEnv(t, testkit.Postgres, testkit.Options{})
	rcv := newReceiver(t)
	e.endpoint(t, rcv.URL)
	const n = 600
	e.importRows(t, rowsFor("two", n)...)

	opts := webhooks.DispatcherOptions{Poll: 5 * time.Millisecond, Concurrency: 8, Timeout: 5 * time.Second}
	a, stopA := e.api.StartDispatcher(t, opts)
	b, stopB := e.api.StartDispatcher(t, opts)
	waitFor(t, "every event", 30*time.Second, func() bool { return len(rcv.byID()) == n })
	// Stopped, the dispatchers have recorded every attempt they made: no
	// repeat can still be on its way.
	stopA()
	stopB()
	wantSettled(t, e)
	for id, count := range rcv.byID() {
		if count != 1 {
			t.Errorf("%s delivered %d times", id, count)
		}
	}
	if a.Stats.Succeeded.Load() == 0 || b.Stats.Succeeded.Load() == 0 {
		t.Errorf("one dispatcher did everything: %d and %d", a.Stats.Succeeded.Load(), b.Stats.Succeeded.Load())
	}
	if total := a.Stats.Succeeded.Load() + b.Stats.Succeeded.Load(); total != n {
		t.Errorf("%d successes for %d events", total, n)
	}
}

// Stopping the dispatcher mid-backlog loses nothing: the next one carries
// on, and the deliveries in flight at the stop are not repeated.
func TestDispatcherRestartMidBacklog(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		rcv := newReceiver(t)
		rcv.answer = func(int, delivery) (int, http.Header) {
			time.Sleep(5 * time.Millisecond)
			return http.StatusOK, nil
		}
		e.endpoint(t, rcv.URL)
		const n = 300
		e.importRows(t, rowsFor("restart", n)...)

		opts := webhooks.DispatcherOptions{Poll: 5 * time.Millisecond, Concurrency: 4, Timeout: 5 * time.Second}
		_, stop := e.api.StartDispatcher(t, opts)
		waitFor(t, "part of the backlog", 10*time.Second, func() bool { return len(rcv.deliveries()) >= 40 })
		stop()
		if got := len(rcv.byID()); got >= n {
			t.Fatalf("the backlog was done before the stop (%d)", got)
		}
		_, stop = e.api.StartDispatcher(t, opts)
		waitFor(t, "the rest of the backlog", 30*time.Second, func() bool { return len(rcv.byID()) == n })
		stop()
		wantSettled(t, e)
		for id, count := range rcv.byID() {
			if count != 1 {
				t.Errorf("%s delivered %d times", id, count)
			}
		}
	})
}

// A dispatcher that dies holding leases delays those deliveries until the
// leases expire; then they are attempted: a crash may repeat an attempt,
// never skip one.
func TestDeadDispatcherLeasesExpire(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		clock := testkit.NewClock(time.Now())
		e := newEnv(t, d, testkit.Options{Now: clock.Now})
		rcv := newReceiver(t)
		e.endpoint(t, rcv.URL)
		e.importRows(t, rowsFor("dead", 5)...)
		oldest, err := e.api.Store.OldestPendingEvent(ctx)
		if err != nil || oldest == nil || !oldest.Equal(clock.Now().UTC().Truncate(time.Microsecond)) {
			t.Fatalf("oldest undelivered event: %v %v", oldest, err)
		}
		now := clock.Now()
		claimed, err := e.api.Store.ClaimDeliveries(ctx, now, now.Add(time.Second), 100)
		if err != nil || len(claimed) != 5 {
			t.Fatalf("the dead dispatcher claimed %d: %v", len(claimed), err)
		}
		disp := e.api.Dispatcher(webhooks.DispatcherOptions{})
		clock.Advance(time.Second - time.Millisecond)
		step(t, disp, 0)
		rcv.wantDeliveries(t, 0)
		clock.Advance(time.Millisecond)
		step(t, disp, 5)
		if got := rcv.byID(); len(got) != 5 {
			t.Errorf("deliveries %v, want 5 events once each", got)
		}
		wantSettled(t, e)
	})
}
