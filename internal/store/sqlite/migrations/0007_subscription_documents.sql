-- Uploaded signed subscription forms and funding receipts. The files are in
-- object storage; a row is written only once its file is stored, so a crash
-- between the two leaves an unreferenced file, never a row without one.
CREATE TABLE subscription_documents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id),
    kind            TEXT NOT NULL CHECK (kind IN ('subscription_form', 'funding_receipt')),
    blob_key        TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    media_type      TEXT NOT NULL,
    amount          TEXT,
    currency        TEXT,
    wire_reference  TEXT,
    uploaded_at     DATETIME NOT NULL
);
CREATE UNIQUE INDEX subscription_documents_blob_key_key ON subscription_documents (blob_key);
CREATE INDEX subscription_documents_subscription_idx ON subscription_documents (subscription_id, id);

-- Every upload records an event, so a subscription has one event of each
-- lifecycle type but any number of upload events.
DROP INDEX events_subscription_type_key;
CREATE UNIQUE INDEX events_subscription_type_key ON events (subscription_id, type)
    WHERE subscription_id IS NOT NULL AND (type = 'subscription.created' OR type = 'subscription.completed');
