// Package config reads the server's configuration from the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
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

	// The limits below hold per server process: n processes admit n times
	// as much.
	MaxInflightBodyBytes int64   // request bodies held at once
	RateLimit            float64 // requests per second per tenant; 0 disables
	RateBurst            int
	MaxConcurrentImports int // imports per tenant at once; 0 disables
	AutoMigrate          bool

	IdempotencyTTL         time.Duration
	IdempotencyLockTimeout time.Duration

	// CompleteAfter is how long a Person may lack its User before the
	// completer (and check --repair) creates it: past the investors'
	// WriteTimeout, so that it never races the request writing the pair.
	CompleteAfter time.Duration

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

	// TokenAudience, when set, is the aud that token assertions must name;
	// unset, it is PublicURL (or the request's origin) and /v1/oauth2/tokens.
	TokenAudience string
	// AccessTokenTTL is how long a minted access token lives.
	AccessTokenTTL time.Duration

	// DebugAddr, when set, serves Go's profiler (/debug/pprof/) there, on a
	// listener of its own that the API's clients cannot reach.
	DebugAddr string

	// MetricsAddr, when set, serves /metrics (Prometheus) there, on a
	// listener of its own: a scraper reaches it, the API's clients need not.
	MetricsAddr string
	// BlobURL names the object storage of uploaded files: file:///DIR (the
	// server answers its signed URLs itself) or s3://BUCKET?region=….
	BlobURL string
	// FileURLTTL is how long a signed file URL stays valid.
	FileURLTTL time.Duration
	// FileURLSecret signs a local directory's file URLs; empty, a random
	// key is created once and kept in the directory.
	FileURLSecret string

	Dispatcher          bool // run the webhook dispatcher inside serve
	WebhookSchedule     []time.Duration
	WebhookTimeout      time.Duration
	WebhookConcurrency  int
	WebhookAllowPrivate bool
}

// Var is an environment variable that the configuration reads.
type Var struct {
	Name    string
	Default string // as the operator would write it; empty when unset means off
	Meaning string
}

// Vars lists every variable Parse reads, for the command's usage; a test
// keeps it complete.
var Vars = []Var{
	{"DATABASE_URL", "sqlite:" + DefaultSQLitePath, "postgres://… for production, or sqlite:PATH"},
	{"ZEST_ADDR", "127.0.0.1:8080", "the address to listen on, host:port"},
	{"ZEST_MAX_BATCH_ROWS", strconv.Itoa(SpecMaxBatchRows), fmt.Sprintf("rows per import request, 1 to %d", SpecMaxBatchRows)},
	{"ZEST_MAX_BODY_BYTES", strconv.Itoa(4 << 20), "request body limit; larger bodies get 413"},
	{"ZEST_MAX_INFLIGHT_BODY_BYTES", strconv.Itoa(64 << 20), "request body bytes in flight per process; beyond, 503 with Retry-After"},
	{"ZEST_RATE_LIMIT", "50", "requests per second per tenant, per process (0: no limit); beyond, 429 with Retry-After"},
	{"ZEST_RATE_BURST", "100", "requests a tenant may send at once above the rate, per process"},
	{"ZEST_MAX_CONCURRENT_IMPORTS", "4", "import requests in flight per tenant, per process (0: no cap); beyond, 429"},
	{"ZEST_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"ZEST_AUTO_MIGRATE", "true", "whether serve migrates the database at start"},
	{"ZEST_IDEMPOTENCY_TTL", "24h", "how long an Idempotency-Key response is replayed, 1s to 720h"},
	{"ZEST_IDEMPOTENCY_LOCK_TIMEOUT", "1m", "after this, a key claimed by a request that never finished may run again, 1s to 1h"},
	{"ZEST_COMPLETE_AFTER", "1m", "how long an investor may lack its User before the completer writes it, 0s to 24h"},
	{"ZEST_DEBUG_ADDR", "", "a loopback host:port on which to serve Go's profiler (/debug/pprof/)"},
	{"ZEST_METRICS_ADDR", "", "a host:port on which serve and worker expose /metrics in the Prometheus format"},
	{"ZEST_DB_CONNECT_TIMEOUT", "5s", "PostgreSQL: how long opening a connection may take, 100ms to 5m"},
	{"ZEST_DB_ACQUIRE_TIMEOUT", "10s", "PostgreSQL: how long a request may wait for a pooled connection, 100ms to 5m"},
	{"ZEST_DB_STATEMENT_TIMEOUT", "30s", "PostgreSQL: how long one statement may run, writes included, 100ms to 1h"},
	{"ZEST_DISPATCHER", "true", "whether serve also dispatches webhooks"},
	{"ZEST_WEBHOOK_RETRY_SCHEDULE", "5s,5m,30m,2h,5h,10h,10h,10h,10h,10h,10h", "delays before the 2nd, 3rd, … delivery attempt"},
	{"ZEST_WEBHOOK_TIMEOUT", "10s", "how long an endpoint has to answer, 100ms to 5m"},
	{"ZEST_WEBHOOK_CONCURRENCY", "64", "delivery attempts in flight per dispatcher, 1 to 1024"},
	{"ZEST_WEBHOOK_ALLOW_PRIVATE", "false", "allow http and private, loopback and link-local webhook endpoints and tenants' JWKS URLs (development only)"},
	{"ZEST_BLOB_URL", "file://DIR/zest-files (DIR: the SQLite file's directory, or the working directory)", "where uploaded files are kept: file:///PATH, or s3://BUCKET?region=… (S3-compatible; credentials from the AWS environment)"},
	{"ZEST_FILE_URL_TTL", "15m", "how long a signed file URL is valid, 1m to 168h"},
	{"ZEST_FILE_URL_SECRET", "", "the key signing file:// URLs (at least 32 bytes); unset, a random key is created once and kept in the directory"},
	{"ZEST_ACCESS_TOKEN_TTL", "15m", "how long an access token from POST /v1/oauth2/tokens lives, 1m to 24h"},
	{"ZEST_TOKEN_AUDIENCE", "", "the aud token assertions must name; unset, ZEST_PUBLIC_URL (or the request's origin) + /v1/oauth2/tokens"},
	{"ZEST_PUBLIC_URL", "", "the origin the published contract names as its server, such as https://api.zestequity.com; unset, the request's Host (set it in production)"},
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

// validPort accepts a port number, 0 included (any free port, for tests).
func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
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

		MaxInflightBodyBytes: 64 << 20,
		RateLimit:            50,
		RateBurst:            100,
		MaxConcurrentImports: 4,
		AutoMigrate:          true,

		IdempotencyTTL:         24 * time.Hour,
		AccessTokenTTL:         15 * time.Minute,
		IdempotencyLockTimeout: time.Minute,
		CompleteAfter:          time.Minute,

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
	if v := get("ZEST_MAX_INFLIGHT_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 64<<30 {
			errs = append(errs, fmt.Errorf("ZEST_MAX_INFLIGHT_BODY_BYTES must be an integer from 1024 to %d, got %q", int64(64<<30), v))
		}
		c.MaxInflightBodyBytes = n
	}
	if v := get("ZEST_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1e6 {
			errs = append(errs, fmt.Errorf("ZEST_RATE_LIMIT must be requests per second from 0 (no limit) to 1000000, got %q", v))
		}
		c.RateLimit = f
	}
	if v := get("ZEST_RATE_BURST"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1e6 {
			errs = append(errs, fmt.Errorf("ZEST_RATE_BURST must be an integer from 1 to 1000000, got %q", v))
		}
		c.RateBurst = n
	}
	if v := get("ZEST_MAX_CONCURRENT_IMPORTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10000 {
			errs = append(errs, fmt.Errorf("ZEST_MAX_CONCURRENT_IMPORTS must be an integer from 0 (no cap) to 10000, got %q", v))
		}
		c.MaxConcurrentImports = n
	}
	if c.MaxInflightBodyBytes < c.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("ZEST_MAX_INFLIGHT_BODY_BYTES (%d) must be at least ZEST_MAX_BODY_BYTES (%d), or no body of the largest size is ever read", c.MaxInflightBodyBytes, c.MaxBodyBytes))
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
	if v := get("ZEST_TOKEN_AUDIENCE"); v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("ZEST_TOKEN_AUDIENCE must be an absolute http or https URL, such as https://api.zestequity.com/v1/oauth2/tokens, got %q", v))
		}
		c.TokenAudience = v
	}
	if v := get("ZEST_DEBUG_ADDR"); v != "" {
		if host, _, err := net.SplitHostPort(v); err != nil || !isLoopback(host) {
			errs = append(errs, fmt.Errorf("ZEST_DEBUG_ADDR must be a loopback host:port such as 127.0.0.1:6060, got %q", v))
		}
		c.DebugAddr = v
	}
	if v := get("ZEST_METRICS_ADDR"); v != "" {
		if _, port, err := net.SplitHostPort(v); err != nil || !validPort(port) {
			errs = append(errs, fmt.Errorf("ZEST_METRICS_ADDR must be host:port such as 127.0.0.1:9090, got %q", v))
		} else if v == c.Addr || v == c.DebugAddr {
			errs = append(errs, fmt.Errorf("ZEST_METRICS_ADDR must differ from ZEST_ADDR and ZEST_DEBUG_ADDR, got %q", v))
		}
		c.MetricsAddr = v
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
	// The example is the default, which lies inside the range by
	// construction, so that the suggestion is always a value that works.
	duration := func(name string, dst *time.Duration, min, max time.Duration) {
		v := get(name)
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < min || d > max {
			errs = append(errs, fmt.Errorf("%s must be a duration from %s to %s (such as %s), got %q", name, shortDuration(min), shortDuration(max), shortDuration(*dst), v))
			return
		}
		*dst = d
	}
	duration("ZEST_IDEMPOTENCY_TTL", &c.IdempotencyTTL, time.Second, 30*24*time.Hour)
	duration("ZEST_ACCESS_TOKEN_TTL", &c.AccessTokenTTL, time.Minute, 24*time.Hour)
	duration("ZEST_IDEMPOTENCY_LOCK_TIMEOUT", &c.IdempotencyLockTimeout, time.Second, time.Hour)
	duration("ZEST_COMPLETE_AFTER", &c.CompleteAfter, 0, 24*time.Hour)
	duration("ZEST_WEBHOOK_TIMEOUT", &c.WebhookTimeout, 100*time.Millisecond, 5*time.Minute)
	duration("ZEST_DB_CONNECT_TIMEOUT", &c.DBConnectTimeout, 100*time.Millisecond, 5*time.Minute)
	duration("ZEST_DB_ACQUIRE_TIMEOUT", &c.DBAcquireTimeout, 100*time.Millisecond, 5*time.Minute)
	duration("ZEST_DB_STATEMENT_TIMEOUT", &c.DBStatementTimeout, 100*time.Millisecond, time.Hour)
	c.FileURLTTL = 15 * time.Minute
	if v := get("ZEST_FILE_URL_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 168*time.Hour {
			errs = append(errs, fmt.Errorf("ZEST_FILE_URL_TTL must be a duration from 1m to 168h, got %q", v))
		}
		c.FileURLTTL = d
	}
	c.FileURLSecret = get("ZEST_FILE_URL_SECRET")
	if c.FileURLSecret != "" && len(c.FileURLSecret) < 32 {
		errs = append(errs, errors.New("ZEST_FILE_URL_SECRET must be at least 32 bytes"))
	}
	switch v := get("ZEST_BLOB_URL"); {
	case v == "":
		dir := "."
		if c.Embedded() {
			dir = filepath.Dir(strings.TrimPrefix(c.DatabaseURL, "sqlite:"))
		}
		abs, err := filepath.Abs(filepath.Join(dir, "zest-files"))
		if err != nil {
			errs = append(errs, fmt.Errorf("the default ZEST_BLOB_URL: %w", err))
		}
		c.BlobURL = "file://" + filepath.ToSlash(abs)
	case strings.HasPrefix(v, "file:///"), strings.HasPrefix(v, "s3://"):
		c.BlobURL = v
	default:
		errs = append(errs, fmt.Errorf("ZEST_BLOB_URL must start with file:/// or s3://, got %q", v))
	}
	return c, errors.Join(errs...)
}

// shortDuration writes d as an operator would type it: 5m, not 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
