-- Events, webhook endpoints, deliveries and attempts. Mirrors
-- postgres/0003_webhooks.sql.

CREATE TABLE webhook_endpoints (
    id                         TEXT PRIMARY KEY,
    client_id                  TEXT NOT NULL REFERENCES tenants (client_id),
    url                        TEXT NOT NULL,
    description                TEXT,
    status                     TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    disabled_reason            TEXT,
    secret                     TEXT NOT NULL,
    previous_secret            TEXT,
    previous_secret_expires_at DATETIME,
    created_at                 DATETIME NOT NULL,
    updated_at                 DATETIME NOT NULL,
    deleted_at                 DATETIME
);
CREATE INDEX webhook_endpoints_client_id_idx ON webhook_endpoints (client_id);

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL,
    client_id  TEXT NOT NULL REFERENCES tenants (client_id),
    type       TEXT NOT NULL,
    person_id  INTEGER REFERENCES people (id),
    payload    TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX events_event_id_key ON events (event_id);
CREATE UNIQUE INDEX events_investor_created_key ON events (person_id) WHERE type = 'investor.created';
CREATE INDEX events_client_id_seq_idx ON events (client_id, seq);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq        INTEGER NOT NULL REFERENCES events (seq),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  DATETIME NOT NULL,
    locked_until     DATETIME,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL,
    delivered_at     DATETIME
);
CREATE UNIQUE INDEX webhook_deliveries_event_endpoint_key ON webhook_deliveries (event_seq, endpoint_id);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, status, created_at);

CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries (id),
    event_seq    INTEGER NOT NULL REFERENCES events (seq),
    endpoint_id  TEXT NOT NULL,
    attempted_at DATETIME NOT NULL,
    status_code  INTEGER,
    latency_ms   INTEGER NOT NULL,
    error        TEXT
);
CREATE INDEX webhook_attempts_event_seq_idx ON webhook_attempts (event_seq);
