-- Tenants, their API tokens, and the investor pair: people (HoldCo identity
-- records) and users (DIFC platform accounts). Mirrors postgres/0001_init.sql.

CREATE TABLE tenants (
    client_id  TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('unprovisioned', 'active', 'suspended')),
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES tenants (client_id),
    secret_hash  BLOB NOT NULL,
    created_at   DATETIME NOT NULL,
    last_used_at DATETIME,
    revoked_at   DATETIME
);
CREATE INDEX api_tokens_client_id_idx ON api_tokens (client_id);

CREATE TABLE people (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    zest_person_id       TEXT NOT NULL,
    client_id            TEXT NOT NULL REFERENCES tenants (client_id),
    partner_investor_id  TEXT NOT NULL,
    email                TEXT NOT NULL,
    email_normalized     TEXT NOT NULL,
    first_name           TEXT NOT NULL,
    last_name            TEXT NOT NULL,
    date_of_birth        TEXT NOT NULL,
    country_of_residence TEXT,
    kyc_managed_by       TEXT NOT NULL,
    kyc_flags            TEXT NOT NULL,
    created_at           DATETIME NOT NULL
);
CREATE UNIQUE INDEX people_zest_person_id_key ON people (zest_person_id);
CREATE UNIQUE INDEX people_client_partner_investor_id_key ON people (client_id, partner_investor_id);
CREATE UNIQUE INDEX people_client_email_key ON people (client_id, email_normalized);

CREATE TABLE users (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id         INTEGER NOT NULL REFERENCES people (id),
    client_id         TEXT NOT NULL,
    email             TEXT NOT NULL,
    email_is_verified BOOLEAN NOT NULL,
    otp_method        TEXT NOT NULL,
    phone             TEXT NOT NULL,
    created_at        DATETIME NOT NULL
);
CREATE UNIQUE INDEX users_person_id_key ON users (person_id);
