-- Idempotency-Key records. Mirrors postgres/0002_idempotency_keys.sql.

CREATE TABLE idempotency_keys (
    client_id        TEXT NOT NULL REFERENCES tenants (client_id),
    key              TEXT NOT NULL,
    method           TEXT NOT NULL,
    route            TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    lock_id          TEXT,
    locked_until     DATETIME,
    response_status  INTEGER,
    response_headers TEXT,
    response_body    BLOB,
    created_at       DATETIME NOT NULL,
    expires_at       DATETIME NOT NULL,
    PRIMARY KEY (client_id, key)
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
