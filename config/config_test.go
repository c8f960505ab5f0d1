package config

import (
	"log/slog"
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
		c.IdempotencyTTL != 24*time.Hour || c.IdempotencyLockTimeout != time.Minute {
		t.Errorf("defaults: %+v", c)
	}
}

func TestValues(t *testing.T) {
	c, err := Parse(env(map[string]string{
		"DATABASE_URL": "postgres://u@h/db", "ZEST_ADDR": ":9000", "ZEST_MAX_BATCH_ROWS": "250",
		"ZEST_MAX_BODY_BYTES": "65536", "ZEST_LOG_LEVEL": "debug", "ZEST_AUTO_MIGRATE": "false",
		"ZEST_IDEMPOTENCY_TTL": "2h", "ZEST_IDEMPOTENCY_LOCK_TIMEOUT": "90s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedded() || c.Addr != ":9000" || c.MaxBatchRows != 250 || c.MaxBodyBytes != 65536 || c.LogLevel != slog.LevelDebug || c.AutoMigrate ||
		c.IdempotencyTTL != 2*time.Hour || c.IdempotencyLockTimeout != 90*time.Second {
		t.Errorf("values: %+v", c)
	}
}

// Every invalid variable is reported, each by name.
func TestInvalid(t *testing.T) {
	_, err := Parse(env(map[string]string{
		"DATABASE_URL": "mysql://x", "ZEST_ADDR": "nope", "ZEST_MAX_BATCH_ROWS": "5000",
		"ZEST_MAX_BODY_BYTES": "ten", "ZEST_LOG_LEVEL": "loud", "ZEST_AUTO_MIGRATE": "maybe",
		"ZEST_IDEMPOTENCY_TTL": "forever", "ZEST_IDEMPOTENCY_LOCK_TIMEOUT": "0s",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"DATABASE_URL", "ZEST_ADDR", "ZEST_MAX_BATCH_ROWS", "ZEST_MAX_BODY_BYTES", "ZEST_LOG_LEVEL", "ZEST_AUTO_MIGRATE", "ZEST_IDEMPOTENCY_TTL", "ZEST_IDEMPOTENCY_LOCK_TIMEOUT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}
