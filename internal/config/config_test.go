package config

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Parse(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "sqlite:zest.db" || !c.Embedded() || c.Addr != "127.0.0.1:8080" || c.MaxBatchRows != 1000 ||
		c.MaxBodyBytes != 4<<20 || c.LogLevel != slog.LevelInfo || !c.AutoMigrate ||
		c.IdempotencyTTL != 24*time.Hour || c.IdempotencyLockTimeout != time.Minute ||
		!c.Dispatcher || c.WebhookSchedule != nil || c.WebhookTimeout != 10*time.Second || c.WebhookAllowPrivate || c.PublicURL != "" ||
		c.DBConnectTimeout != 5*time.Second || c.DBAcquireTimeout != 10*time.Second || c.DBStatementTimeout != 30*time.Second {
		t.Errorf("defaults: %+v", c)
	}
}

func TestValues(t *testing.T) {
	c, err := Parse(env(map[string]string{
		"DATABASE_URL": "postgres://u@h/db", "ZEST_ADDR": ":9000", "ZEST_MAX_BATCH_ROWS": "250",
		"ZEST_MAX_BODY_BYTES": "65536", "ZEST_LOG_LEVEL": "debug", "ZEST_AUTO_MIGRATE": "false",
		"ZEST_IDEMPOTENCY_TTL": "2h", "ZEST_IDEMPOTENCY_LOCK_TIMEOUT": "90s",
		"ZEST_DISPATCHER": "false", "ZEST_WEBHOOK_RETRY_SCHEDULE": "1s, 2s,3m", "ZEST_WEBHOOK_TIMEOUT": "2s",
		"ZEST_WEBHOOK_CONCURRENCY": "8", "ZEST_WEBHOOK_ALLOW_PRIVATE": "true", "ZEST_PUBLIC_URL": "https://api.zestequity.com/",
		"ZEST_DB_CONNECT_TIMEOUT": "2s", "ZEST_DB_ACQUIRE_TIMEOUT": "3s", "ZEST_DB_STATEMENT_TIMEOUT": "4s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedded() || c.Addr != ":9000" || c.MaxBatchRows != 250 || c.MaxBodyBytes != 65536 || c.LogLevel != slog.LevelDebug || c.AutoMigrate ||
		c.IdempotencyTTL != 2*time.Hour || c.IdempotencyLockTimeout != 90*time.Second ||
		c.Dispatcher || fmt.Sprint(c.WebhookSchedule) != "[1s 2s 3m0s]" || c.WebhookTimeout != 2*time.Second ||
		c.WebhookConcurrency != 8 || !c.WebhookAllowPrivate || c.PublicURL != "https://api.zestequity.com" ||
		c.DBConnectTimeout != 2*time.Second || c.DBAcquireTimeout != 3*time.Second || c.DBStatementTimeout != 4*time.Second {
		t.Errorf("values: %+v", c)
	}
}

// Every invalid variable is reported, each by name.
func TestInvalid(t *testing.T) {
	_, err := Parse(env(map[string]string{
		"DATABASE_URL": "mysql://x", "ZEST_ADDR": "nope", "ZEST_MAX_BATCH_ROWS": "5000",
		"ZEST_MAX_BODY_BYTES": "ten", "ZEST_LOG_LEVEL": "loud", "ZEST_AUTO_MIGRATE": "maybe",
		"ZEST_IDEMPOTENCY_TTL": "forever", "ZEST_IDEMPOTENCY_LOCK_TIMEOUT": "0s",
		"ZEST_DISPATCHER": "sometimes", "ZEST_WEBHOOK_RETRY_SCHEDULE": "5s,-1s", "ZEST_WEBHOOK_TIMEOUT": "1ns",
		"ZEST_WEBHOOK_CONCURRENCY": "0", "ZEST_WEBHOOK_ALLOW_PRIVATE": "yes please", "ZEST_PUBLIC_URL": "api.zestequity.com",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"DATABASE_URL", "ZEST_ADDR", "ZEST_MAX_BATCH_ROWS", "ZEST_MAX_BODY_BYTES", "ZEST_LOG_LEVEL", "ZEST_AUTO_MIGRATE", "ZEST_IDEMPOTENCY_TTL", "ZEST_IDEMPOTENCY_LOCK_TIMEOUT",
		"ZEST_DISPATCHER", "ZEST_WEBHOOK_RETRY_SCHEDULE", "ZEST_WEBHOOK_TIMEOUT", "ZEST_WEBHOOK_CONCURRENCY", "ZEST_WEBHOOK_ALLOW_PRIVATE", "ZEST_PUBLIC_URL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

// ZEST_PUBLIC_URL is what the published contract names as its server, so
// only a bare http(s) origin is accepted.
func TestPublicURL(t *testing.T) {
	for v, want := range map[string]string{
		"https://api.zestequity.com":      "https://api.zestequity.com",
		"https://api.zestequity.com/":     "https://api.zestequity.com",
		"http://127.0.0.1:8080":           "http://127.0.0.1:8080",
		"https://[2001:db8::1]:8443":      "https://[2001:db8::1]:8443",
		"api.zestequity.com":              "",
		"ftp://api.zestequity.com":        "",
		"https://":                        "",
		"https://api.zestequity.com/v1":   "",
		"https://api.zestequity.com?x=1":  "",
		"https://api.zestequity.com?":     "",
		"https://api.zestequity.com/#top": "",
		"https://user:pw@api.example":     "",
		"https://api.zestequity.com:x":    "",
	} {
		c, err := Parse(env(map[string]string{"ZEST_PUBLIC_URL": v}))
		switch {
		case want == "" && (err == nil || !strings.Contains(err.Error(), "ZEST_PUBLIC_URL")):
			t.Errorf("ZEST_PUBLIC_URL=%s: accepted as %q", v, c.PublicURL)
		case want != "" && (err != nil || c.PublicURL != want):
			t.Errorf("ZEST_PUBLIC_URL=%s: %q, %v; want %q", v, c.PublicURL, err, want)
		}
	}
}

// readNames returns the names of the variables Parse asks for, each set to
// value.
func readNames(value string) []string {
	var names []string
	Parse(func(k string) (string, bool) { names = append(names, k); return value, true })
	return names
}

// Vars, which the usage prints, names every variable that Parse reads.
func TestVarsListsEveryVariableRead(t *testing.T) {
	listed := map[string]bool{}
	for _, v := range Vars {
		listed[v.Name] = true
	}
	read := readNames("")
	for _, name := range read {
		if !listed[name] {
			t.Errorf("Parse reads %s, which Vars does not list", name)
		}
	}
	if len(read) != len(Vars) {
		t.Errorf("Parse reads %d variables, Vars lists %d", len(read), len(Vars))
	}
}

// A value an error message suggests is one that Parse accepts.
func TestSuggestionsAreAccepted(t *testing.T) {
	suggestion := regexp.MustCompile(`^(\S+) must .*\(such as ([^)\s]+)\)`)
	for _, name := range readNames("") {
		_, err := Parse(env(map[string]string{name: "nonsense"}))
		if err == nil {
			continue
		}
		m := suggestion.FindStringSubmatch(err.Error())
		if m == nil {
			continue
		}
		if _, err := Parse(env(map[string]string{name: m[2]})); err != nil {
			t.Errorf("%s suggests %s, which is refused: %v", name, m[2], err)
		}
	}
	_, err := Parse(env(map[string]string{"ZEST_WEBHOOK_TIMEOUT": "24h"}))
	if err == nil || !strings.Contains(err.Error(), "from 100ms to 5m (such as 10s)") {
		t.Errorf("ZEST_WEBHOOK_TIMEOUT=24h: %v", err)
	}
}

// The metrics listener is a port of its own: never the API's, whose clients
// must not read it, nor the profiler's.
func TestMetricsAddr(t *testing.T) {
	for v, ok := range map[string]bool{
		"127.0.0.1:9090": true, ":9090": true, "0.0.0.0:0": true,
		"9090": false, "host:port": false, "127.0.0.1:70000": false, "127.0.0.1:8080": false,
	} {
		c, err := Parse(env(map[string]string{"ZEST_METRICS_ADDR": v}))
		switch {
		case ok && (err != nil || c.MetricsAddr != v):
			t.Errorf("ZEST_METRICS_ADDR=%s: %q, %v", v, c.MetricsAddr, err)
		case !ok && (err == nil || !strings.Contains(err.Error(), "ZEST_METRICS_ADDR")):
			t.Errorf("ZEST_METRICS_ADDR=%s accepted", v)
		}
	}
}
