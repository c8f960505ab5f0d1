-- Idempotency-Key records: a tenant's claim on a key while its request runs,
-- then the response to replay until the record expires.

CREATE TABLE idempotency_keys (
    client_id        text NOT NULL REFERENCES tenants (client_id),
    key              text NOT NULL,
    method           text NOT NULL,
    route            text NOT NULL,
    fingerprint      text NOT NULL,
    -- The claim: who runs the request, and until when that claim holds.
    lock_id          text,
    locked_until     timestamptz,
    -- The response, once the request completed.
    response_status  integer,
    response_headers text,
    response_body    bytea,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (client_id, key)
);
-- The sweeper deletes expired records oldest first.
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
