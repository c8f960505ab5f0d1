-- A tenant's JWKS URL, and the keys fetched from it. Mirrors postgres/0010.
CREATE TABLE partner_jwks (
    client_id  TEXT PRIMARY KEY REFERENCES tenants (client_id),
    url        TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
ALTER TABLE partner_keys ADD COLUMN from_jwks BOOLEAN NOT NULL DEFAULT false;
