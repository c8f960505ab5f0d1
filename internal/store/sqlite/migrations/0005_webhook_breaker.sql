-- A circuit breaker per webhook endpoint. Mirrors
-- postgres/0005_webhook_breaker.sql.
ALTER TABLE webhook_endpoints ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN open_until DATETIME;
