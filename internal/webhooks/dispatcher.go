package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zestequity/zest-api/internal/netguard"
	"github.com/zestequity/zest-api/internal/periodic"
	"github.com/zestequity/zest-api/internal/retry"
	"github.com/zestequity/zest-api/models"
)

// DefaultSchedule is the delay before each retry, close to the Standard
// Webhooks example: 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h until about
// three days have passed. After the last retry a delivery is failed.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// Dispatcher defaults.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultConcurrency = 64
	DefaultPoll        = 100 * time.Millisecond
	// leaseMargin is added to the timeout for a claimed delivery's lease, to
	// cover recording the result.
	leaseMargin = 30 * time.Second
	// maxRetryAfter caps how long a Retry-After may postpone a retry.
	maxRetryAfter = 24 * time.Hour
	// DefaultBreakerThreshold is how many consecutive failed attempts open
	// an endpoint's breaker.
	DefaultBreakerThreshold = 5
	// DefaultBreakerCooldown is how long an open breaker waits before its
	// first probe; each failed probe doubles it, up to maxBreakerCooldown.
	DefaultBreakerCooldown = 30 * time.Second
	maxBreakerCooldown     = time.Hour
)

// DispatcherOptions configure a Dispatcher; zero values take the defaults.
type DispatcherOptions struct {
	Schedule    []time.Duration
	Timeout     time.Duration
	Concurrency int
	Poll        time.Duration
	Policy      netguard.Policy
	Now         func() time.Time
	Logger      *slog.Logger
	// BreakerThreshold and BreakerCooldown shape each endpoint's circuit
	// breaker (DefaultBreakerThreshold, DefaultBreakerCooldown).
	BreakerThreshold int
	BreakerCooldown  time.Duration
}

// Dispatcher attempts due deliveries. Any number of dispatchers, in any
// number of processes, may run against one database: each claims deliveries
// under a lease, so that in normal operation a delivery is attempted by one
// of them at a time. Delivery is at least once: a dispatcher that dies
// mid-attempt leaves its lease to expire and the attempt is made again.
type Dispatcher struct {
	store       Store
	client      *http.Client
	schedule    []time.Duration
	timeout     time.Duration
	concurrency int
	poll        time.Duration
	now         func() time.Time
	log         *slog.Logger
	threshold   int
	cooldown    time.Duration
	Stats       Stats
}

// Stats are the dispatcher's counters since it started.
type Stats struct {
	Attempts  atomic.Int64 // HTTP attempts made
	Succeeded atomic.Int64 // deliveries acknowledged with a 2xx
	Retried   atomic.Int64 // failed attempts that will be retried
	Failed    atomic.Int64 // deliveries given up
}

// NewDispatcher returns a Dispatcher.
func NewDispatcher(st Store, o DispatcherOptions) *Dispatcher {
	if o.Schedule == nil {
		o.Schedule = DefaultSchedule
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Poll == 0 {
		o.Poll = DefaultPoll
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BreakerThreshold == 0 {
		o.BreakerThreshold = DefaultBreakerThreshold
	}
	if o.BreakerCooldown == 0 {
		o.BreakerCooldown = DefaultBreakerCooldown
	}
	transport := &http.Transport{
		// No proxy: the address check must see the real destination.
		Proxy:               nil,
		DialContext:         o.Policy.DialContext(&net.Dialer{Timeout: o.Timeout}),
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: o.Concurrency,
		TLSHandshakeTimeout: o.Timeout,
	}
	return &Dispatcher{
		store: st,
		client: &http.Client{
			Transport: transport,
			Timeout:   o.Timeout,
			// A redirect is an answer like any other non-2xx: following it
			// would let an endpoint send us anywhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		schedule:    o.Schedule,
		timeout:     o.Timeout,
		concurrency: o.Concurrency,
		poll:        o.Poll,
		now:         o.Now,
		log:         o.Logger,
		threshold:   o.BreakerThreshold,
		cooldown:    o.BreakerCooldown,
	}
}

// Run dispatches until ctx ends, then lets the attempts in flight finish and
// records them. It works as Step does, but without waiting for a claim's
// attempts before claiming more: a claim is made whenever half of the
// capacity is free.
func (d *Dispatcher) Run(ctx context.Context) {
	slots := make(chan struct{}, d.concurrency)
	freed := make(chan struct{}, 1)
	release := func() {
		<-slots
		select {
		case freed <- struct{}{}:
		default:
		}
	}
	var inflight sync.WaitGroup
	failures := 0 // consecutive failed claims
	for ctx.Err() == nil {
		// Claim in bulk: one claim statement per half of the capacity, not
		// one per finished attempt.
		free := cap(slots) - len(slots)
		if free < max(1, cap(slots)/2) {
			select {
			case <-freed:
			case <-time.After(d.poll):
			case <-ctx.Done():
			}
			continue
		}
		claimed, err := d.claim(ctx, free)
		if err != nil {
			// One line per wait, and the waits grow: a database that is
			// down costs a few lines, not ten a second.
			failures++
			wait := claimBackoff(d.poll, failures)
			d.log.WarnContext(ctx, "claiming webhook deliveries failed", "error", err, "failures", failures, "retry_in", wait.String())
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			continue
		}
		if failures > 0 {
			d.log.InfoContext(ctx, "claiming webhook deliveries again", "after_failures", failures)
			failures = 0
		}
		for range claimed {
			slots <- struct{}{}
		}
		// A stop lets the claimed attempts finish and be recorded: cutting
		// them short would only repeat them once their leases expire.
		inflight.Go(func() { _ = d.deliver(context.WithoutCancel(ctx), claimed, release) })
		if len(claimed) < free {
			select {
			case <-time.After(d.poll):
			case <-ctx.Done():
			}
		}
	}
	inflight.Wait()
}

// Step claims the deliveries due by the dispatcher's clock, up to its
// concurrency, attempts them at once, records the results, and returns how
// many it claimed. It returns when the results are stored, so a caller that
// steps, and moves its clock to drive retries, knows the outbox's state
// without waiting for it.
func (d *Dispatcher) Step(ctx context.Context) (int, error) {
	claimed, err := d.claim(ctx, d.concurrency)
	if err != nil {
		return 0, err
	}
	return len(claimed), d.deliver(ctx, claimed, func() {})
}

// claim leases up to n due deliveries. A stop does not interrupt it: a claim
// cut short after the database committed it would strand its deliveries
// until their leases expired.
func (d *Dispatcher) claim(ctx context.Context, n int) ([]ClaimedDelivery, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout)
	defer cancel()
	now := d.now()
	return d.store.ClaimDeliveries(ctx, now, now.Add(d.timeout+leaseMargin), n)
}

// deliver attempts claimed deliveries at once, calling done as each attempt
// ends, and records their results in one statement rather than two per
// attempt. The results wait for the claim's slowest attempt, which the
// timeout bounds well within the lease.
func (d *Dispatcher) deliver(ctx context.Context, claimed []ClaimedDelivery, done func()) error {
	if len(claimed) == 0 {
		return nil
	}
	results := make([]DeliveryResult, len(claimed))
	var wg sync.WaitGroup
	for i, c := range claimed {
		wg.Go(func() {
			defer done()
			results[i] = d.attempt(ctx, c)
		})
	}
	wg.Wait()
	breakers := d.breakers(claimed, results)
	if err := d.store.RecordDeliveryResults(ctx, results, breakers); err != nil {
		// The leases expire and these deliveries are attempted again.
		d.log.ErrorContext(ctx, "recording webhook attempts failed", "attempts", len(results), "error", err)
		return err
	}
	d.logSummary(ctx, results, breakers)
	return nil
}

// breakers works out the circuit breaker of each endpoint attempted: a
// success closes it; failures add up, and from the threshold on open it for
// a cooldown that doubles with each failed probe. Once open, a step counts
// as one failure however many attempts failed in it, so that the cooldown
// grows with the probes, not with the size of the first burst. Dispatchers
// attempting one endpoint at once each write their own count, the last one
// winning: the count may fall short, never the breaker's purpose.
func (d *Dispatcher) breakers(claimed []ClaimedDelivery, results []DeliveryResult) []Breaker {
	type tally struct {
		before, failed int
		succeeded      bool
		at             time.Time
	}
	byEndpoint := map[string]*tally{}
	var order []string
	for i, r := range results {
		if !r.Attempted {
			continue
		}
		t := byEndpoint[r.EndpointID]
		if t == nil {
			t = &tally{before: claimed[i].EndpointFailures}
			byEndpoint[r.EndpointID] = t
			order = append(order, r.EndpointID)
		}
		if r.Status == models.DeliverySucceeded {
			t.succeeded = true
		} else {
			t.failed++
		}
		if r.AttemptedAt.After(t.at) {
			t.at = r.AttemptedAt
		}
	}
	out := make([]Breaker, 0, len(order))
	for _, id := range order {
		t := byEndpoint[id]
		b := Breaker{EndpointID: id}
		if !t.succeeded {
			b.ConsecutiveFailures = t.before + t.failed
			if b.ConsecutiveFailures >= d.threshold {
				b.ConsecutiveFailures = max(t.before+1, d.threshold)
				cooldown := d.cooldown << min(b.ConsecutiveFailures-d.threshold, 16)
				open := t.at.Add(min(cooldown, maxBreakerCooldown))
				b.OpenUntil = &open
			}
		}
		out = append(out, b)
	}
	return out
}

// logSummary writes one line for a step's attempts: a dead endpoint would
// otherwise write one per delivery.
func (d *Dispatcher) logSummary(ctx context.Context, results []DeliveryResult, breakers []Breaker) {
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Status]++
	}
	open := 0
	for _, b := range breakers {
		if b.OpenUntil != nil {
			open++
		}
	}
	d.log.InfoContext(ctx, "webhook attempts", "attempts", len(results), "succeeded", counts[models.DeliverySucceeded],
		"retrying", counts[models.DeliveryPending], "failed", counts[models.DeliveryFailed], "endpoints_open", open)
}

// attempt makes one delivery attempt and decides what follows.
func (d *Dispatcher) attempt(ctx context.Context, c ClaimedDelivery) DeliveryResult {
	res := DeliveryResult{
		DeliveryID: c.DeliveryID, Attempts: c.Attempts, EventSeq: c.EventSeq, EndpointID: c.EndpointID,
		Status: models.DeliveryPending,
	}
	if c.EndpointDeleted || c.EndpointStatus != models.EndpointEnabled {
		res.Status, res.AttemptedAt = models.DeliveryFailed, d.now()
		res.Error = ptr("endpoint disabled")
		if c.EndpointDeleted {
			res.Error = ptr("endpoint deleted")
		}
		d.Stats.Failed.Add(1)
		return res
	}

	start := d.now()
	res.Attempted, res.AttemptedAt = true, start
	d.Stats.Attempts.Add(1)
	status, retryAfter, err := d.send(ctx, c, start)
	res.LatencyMS = int(d.now().Sub(start).Milliseconds())
	failure := ""
	if err != nil {
		failure = err.Error()
		res.Error = &failure
	} else {
		res.StatusCode = &status
	}

	switch {
	case err == nil && status >= 200 && status < 300:
		res.Status = models.DeliverySucceeded
		d.Stats.Succeeded.Add(1)
	case err == nil && status == http.StatusGone:
		res.Status = models.DeliveryFailed
		d.Stats.Failed.Add(1)
		if err := d.store.DisableEndpoint(ctx, c.EndpointID, "gone"); err != nil {
			d.log.ErrorContext(ctx, "disabling a gone webhook endpoint failed", "endpoint_id", c.EndpointID, "error", err)
		}
	case c.Attempts >= len(d.schedule):
		res.Status = models.DeliveryFailed
		d.Stats.Failed.Add(1)
	default:
		delay := retry.Jitter(d.schedule[c.Attempts], 0.9, 1.1)
		if retryAfter > 0 {
			delay = retryAfter
		}
		res.NextAttemptAt = start.Add(delay)
		d.Stats.Retried.Add(1)
	}
	if res.Status != models.DeliveryPending {
		res.NextAttemptAt = start
	}
	// The step's summary line tells the volume at info.
	d.log.DebugContext(ctx, "webhook attempt", "event_id", c.EventID, "endpoint_id", c.EndpointID,
		"attempt", c.Attempts+1, "status_code", status, "error", failure, "latency_ms", res.LatencyMS, "outcome", res.Status)
	return res
}

// send posts the event and returns the answer's status and, for 429 and
// 503, its Retry-After.
func (d *Dispatcher) send(ctx context.Context, c ClaimedDelivery, at time.Time) (int, time.Duration, error) {
	secrets := []string{c.Secret}
	if c.PreviousSecret != nil && c.PreviousSecretExpiresAt != nil && at.Before(*c.PreviousSecretExpiresAt) {
		secrets = append(secrets, *c.PreviousSecret)
	}
	body := []byte(c.Payload)
	sig, err := Sign(c.EventID, at, body, secrets...)
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, errors.New("invalid endpoint URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Zest-Webhooks/1")
	req.Header.Set("webhook-id", c.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, 0, describe(err, d.timeout)
	}
	// Drain a little so the connection can be reused; the body is not kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	var retryAfter time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		retryAfter = retry.After(resp.Header.Get("Retry-After"), at, maxRetryAfter)
	}
	return resp.StatusCode, retryAfter, nil
}

// describe turns a transport failure into the short text shown to the
// tenant in the event's attempts.
func describe(err error, timeout time.Duration) error {
	var netErr net.Error
	switch {
	case errors.Is(err, netguard.ErrForbiddenAddress):
		return errors.New("destination address is not allowed")
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("no answer within %s", timeout)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return fmt.Errorf("connection failed: %v", opErr.Err)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return errors.New("host name does not resolve")
	}
	return errors.New("request failed")
}

// RunStats calls LogStats every interval until ctx ends.
func (d *Dispatcher) RunStats(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, d.LogStats)
}

// LogStats logs the counters and the age of the oldest undelivered event,
// by the dispatcher's clock.
func (d *Dispatcher) LogStats(ctx context.Context) {
	attrs := []any{"attempts", d.Stats.Attempts.Load(), "succeeded", d.Stats.Succeeded.Load(),
		"retried", d.Stats.Retried.Load(), "failed", d.Stats.Failed.Load()}
	oldest, err := d.store.OldestPendingEvent(ctx)
	switch {
	case err != nil:
		attrs = append(attrs, "oldest_undelivered_error", err.Error())
	case oldest != nil:
		attrs = append(attrs, "oldest_undelivered_age_s", d.now().Sub(*oldest).Seconds())
	default:
		attrs = append(attrs, "oldest_undelivered_age_s", 0)
	}
	d.log.InfoContext(ctx, "webhook dispatcher stats", attrs...)
}

func ptr[T any](v T) *T { return &v }
