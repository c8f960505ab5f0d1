-- A circuit breaker per webhook endpoint, in the database so that every
-- dispatcher process agrees on it. After consecutive failed attempts the
-- endpoint is open until open_until: no delivery to it is attempted but one
-- probe, claimed by moving open_until to the probe's lease.
ALTER TABLE webhook_endpoints ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN open_until timestamptz;
