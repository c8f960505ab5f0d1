package apitest

import (
	"net/http"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/internal/webhooks"
)

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
	a, _ := e.api.StartDispatcher(t, opts)
	b, _ := e.api.StartDispatcher(t, opts)
	waitFor(t, "every event", 30*time.Second, func() bool { return len(rcv.byID()) == n })
	time.Sleep(100 * time.Millisecond)
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
		e.api.StartDispatcher(t, opts)
		waitFor(t, "the rest of the backlog", 30*time.Second, func() bool { return len(rcv.byID()) == n })
		time.Sleep(100 * time.Millisecond)
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
		e := newEnv(t, d, testkit.Options{})
		rcv := newReceiver(t)
		e.endpoint(t, rcv.URL)
		e.importRows(t, rowsFor("dead", 5)...)
		oldest, err := e.api.Store.OldestPendingEvent(ctx)
		if err != nil || oldest == nil || time.Since(*oldest) > time.Minute {
			t.Fatalf("oldest undelivered event: %v %v", oldest, err)
		}
		now := time.Now()
		claimed, err := e.api.Store.ClaimDeliveries(ctx, now, now.Add(time.Second), 100)
		if err != nil || len(claimed) != 5 {
			t.Fatalf("the dead dispatcher claimed %d: %v", len(claimed), err)
		}
		e.api.StartDispatcher(t, webhooks.DispatcherOptions{Poll: 5 * time.Millisecond})
		time.Sleep(500 * time.Millisecond)
		if n := len(rcv.deliveries()); n != 0 {
			t.Errorf("%d deliveries while leased", n)
		}
		waitFor(t, "the leased deliveries", 5*time.Second, func() bool { return len(rcv.byID()) == 5 })
		waitFor(t, "no undelivered event", 5*time.Second, func() bool {
			oldest, err := e.api.Store.OldestPendingEvent(ctx)
			return err == nil && oldest == nil
		})
	})
}
