// Package config reads the server's configuration from the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultSQLitePath is the embedded database used when DATABASE_URL is unset,
// so that a newcomer can run the server with no setup.
const DefaultSQLitePath = "zest.db"

// SpecMaxBatchRows is the largest batch openapi.yaml allows; a deployment may
// only lower it, so that the published contract stays true.
const SpecMaxBatchRows = 1000

// Config is the server's configuration.
type Config struct {
	DatabaseURL  string // postgres://… or sqlite:PATH
	Addr         string
	MaxBatchRows int
	MaxBodyBytes int64
	LogLevel     slog.Level
	AutoMigrate  bool

	IdempotencyTTL         time.Duration
	IdempotencyLockTimeout time.Duration

	// How long the server waits on PostgreSQL for a new connection, for a
	// connection from the pool, and for one statement: a database that stops
	// answering turns into 503s within these bounds instead of requests that
	// hang for as long as it does.
	DBConnectTimeout   time.Duration
	DBAcquireTimeout   time.Duration
	DBStatementTimeout time.Duration

	// PublicURL, when set, is the scheme and host (and port) clients reach
	// the API at, and the one server the published contract names; unset,
	// the contract names the Host each request asked for.
	PublicURL string

	// DebugAddr, when set, serves Go's profiler (/debug/pprof/) there, on a
	// listener of its own that the API's clients cannot reach.
	DebugAddr string

	Dispatcher          bool // run the webhook dispatcher inside serve
	WebhookSchedule     []time.Duration
	WebhookTimeout      time.Duration
	WebhookConcurrency  int
	WebhookAllowPrivate bool
}

// Embedded reports whether the configuration uses the embedded SQLite database.
func (c Config) Embedded() bool { return strings.HasPrefix(c.DatabaseURL, "sqlite:") }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// FromEnv reads the configuration from the environment. Every problem is
// reported at once, each naming its variable, so that start-up fails clearly.
func FromEnv() (Config, error) { return Parse(os.LookupEnv) }

// Parse reads the configuration through lookup (os.LookupEnv in production).
func Parse(lookup func(string) (string, bool)) (Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	var errs []error
	c := Config{
		Addr:         "127.0.0.1:8080",
		MaxBatchRows: SpecMaxBatchRows,
		MaxBodyBytes: 4 << 20,
		LogLevel:     slog.LevelInfo,
		AutoMigrate:  true,

		IdempotencyTTL:         24 * time.Hour,
		IdempotencyLockTimeout: time.Minute,

		DBConnectTimeout:   5 * time.Second,
		DBAcquireTimeout:   10 * time.Second,
		DBStatementTimeout: 30 * time.Second,

		Dispatcher:         true,
		WebhookTimeout:     10 * time.Second,
		WebhookConcurrency: 64,
	}

	switch u := get("DATABASE_URL"); {
	case u == "":
		c.DatabaseURL = "sqlite:" + DefaultSQLitePath
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		c.DatabaseURL = u
	case strings.HasPrefix(u, "sqlite:") && len(u) > len("sqlite:"):
		c.DatabaseURL = u
	default:
		errs = append(errs, errors.New("DATABASE_URL must start with postgres://, postgresql:// or sqlite: (or be unset for the embedded database)"))
	}

	if v := get("ZEST_ADDR"); v != "" {
		if _, _, err := net.SplitHostPort(v); err != nil {
			errs = append(errs, fmt.Errorf("ZEST_ADDR must be host:port, got %q", v))
		}
		c.Addr = v
	}
	if v := get("ZEST_MAX_BATCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > SpecMaxBatchRows {
			errs = append(errs, fmt.Errorf("ZEST_MAX_BATCH_ROWS must be an integer from 1 to %d, got %q", SpecMaxBatchRows, v))
		}
		c.MaxBatchRows = n
	}
	if v := get("ZEST_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 256<<20 {
			errs = append(errs, fmt.Errorf("ZEST_MAX_BODY_BYTES must be an integer from 1024 to %d, got %q", 256<<20, v))
		}
		c.MaxBodyBytes = n
	}
	if v := get("ZEST_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("ZEST_LOG_LEVEL must be debug, info, warn or error, got %q", v))
		}
	}
	if v := get("ZEST_PUBLIC_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(v, "#") {
			errs = append(errs, fmt.Errorf("ZEST_PUBLIC_URL must be an absolute http or https URL without a path, query or credentials, such as https://api.zestequity.com, got %q", v))
		}
		c.PublicURL = strings.TrimSuffix(v, "/")
	}
	if v := get("ZEST_DEBUG_ADDR"); v != "" {
		if host, _, err := net.SplitHostPort(v); err != nil || !isLoopback(host) {
			errs = append(errs, fmt.Errorf("ZEST_DEBUG_ADDR must be a loopback host:port such as 127.0.0.1:6060, got %q", v))
		}
		c.DebugAddr = v
	}
	boolean := func(name string, dst *bool) {
		if v := get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s must be true or false, got %q", name, v))
			}
			*dst = b
		}
	}
	boolean("ZEST_AUTO_MIGRATE", &c.AutoMigrate)
	boolean("ZEST_DISPATCHER", &c.Dispatcher)
	boolean("ZEST_WEBHOOK_ALLOW_PRIVATE", &c.WebhookAllowPrivate)
	if v := get("ZEST_WEBHOOK_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			errs = append(errs, fmt.Errorf("ZEST_WEBHOOK_CONCURRENCY must be an integer from 1 to 1024, got %q", v))
		}
		c.WebhookConcurrency = n
	}
	if v := get("ZEST_WEBHOOK_RETRY_SCHEDULE"); v != "" {
		c.WebhookSchedule = []time.Duration{}
		for part := range strings.SplitSeq(v, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(part))
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("ZEST_WEBHOOK_RETRY_SCHEDULE must be comma-separated positive durations (such as 5s,5m,30m), got %q", v))
				break
			}
			c.WebhookSchedule = append(c.WebhookSchedule, d)
		}
	}
	duration := func(name string, dst *time.Duration, min, max time.Duration) {
		v := get(name)
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < min || d > max {
			errs = append(errs, fmt.Errorf("%s must be a duration from %s to %s (such as 90s or 24h), got %q", name, min, max, v))
			return
		}
		*dst = d
	}
	duration("ZEST_IDEMPOTENCY_TTL", &c.IdempotencyTTL, time.Second, 30*24*time.Hour)
	duration("ZEST_IDEMPOTENCY_LOCK_TIMEOUT", &c.IdempotencyLockTimeout, time.Second, time.Hour)
	duration("ZEST_WEBHOOK_TIMEOUT", &c.WebhookTimeout, 100*time.Millisecond, 5*time.Minute)
	duration("ZEST_DB_CONNECT_TIMEOUT", &c.DBConnectTimeout, 100*time.Millisecond, 5*time.Minute)
	duration("ZEST_DB_ACQUIRE_TIMEOUT", &c.DBAcquireTimeout, 100*time.Millisecond, 5*time.Minute)
	duration("ZEST_DB_STATEMENT_TIMEOUT", &c.DBStatementTimeout, 100*time.Millisecond, time.Hour)
	return c, errors.Join(errs...)
}
