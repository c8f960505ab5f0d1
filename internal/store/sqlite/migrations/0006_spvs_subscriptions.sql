-- SPVs with their share classes, provisioned by operators, and the
-- subscriptions of a tenant's investors to them. Money is TEXT, written as
-- the exact decimal: SQLite has no exact numeric type.

CREATE TABLE spvs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    slug       TEXT NOT NULL,
    client_id  TEXT NOT NULL REFERENCES tenants (client_id),
    name       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    min_amount TEXT,
    status     TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_at DATETIME NOT NULL,
    closed_at  DATETIME
);
CREATE UNIQUE INDEX spvs_slug_key ON spvs (slug);
CREATE INDEX spvs_client_id_idx ON spvs (client_id);

CREATE TABLE share_classes (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    spv_id INTEGER NOT NULL REFERENCES spvs (id),
    slug   TEXT NOT NULL,
    name   TEXT NOT NULL
);
CREATE UNIQUE INDEX share_classes_spv_slug_key ON share_classes (spv_id, slug);

CREATE TABLE subscriptions (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_slug       TEXT NOT NULL,
    client_id               TEXT NOT NULL REFERENCES tenants (client_id),
    spv_id                  INTEGER NOT NULL REFERENCES spvs (id),
    person_id               INTEGER NOT NULL REFERENCES people (id),
    user_id                 INTEGER NOT NULL REFERENCES users (id),
    share_class_id          INTEGER NOT NULL REFERENCES share_classes (id),
    currency                TEXT NOT NULL,
    amount                  TEXT NOT NULL,
    partner_subscription_id TEXT,
    status                  TEXT NOT NULL CHECK (status IN ('pending', 'form_received', 'funding_received', 'completed')),
    created_at              DATETIME NOT NULL,
    updated_at              DATETIME NOT NULL,
    completed_at            DATETIME
);
CREATE UNIQUE INDEX subscriptions_slug_key ON subscriptions (subscription_slug);
CREATE UNIQUE INDEX subscriptions_spv_person_key ON subscriptions (spv_id, person_id);
CREATE INDEX subscriptions_spv_status_idx ON subscriptions (spv_id, status, id);

ALTER TABLE events ADD COLUMN subscription_id INTEGER REFERENCES subscriptions (id);
CREATE UNIQUE INDEX events_subscription_type_key ON events (subscription_id, type) WHERE subscription_id IS NOT NULL;
