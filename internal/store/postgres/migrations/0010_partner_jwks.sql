-- A tenant may publish its public keys as a JWKS at an https URL instead of
-- handing each to operations: the server fetches it and keeps its keys in
-- partner_keys (from_jwks), where access tokens reference them; a key that
-- leaves the JWKS is revoked, with the access tokens it minted.
CREATE TABLE partner_jwks (
    client_id  text PRIMARY KEY REFERENCES tenants (client_id),
    url        text NOT NULL,
    created_at timestamptz NOT NULL
);
ALTER TABLE partner_keys ADD COLUMN from_jwks boolean NOT NULL DEFAULT false;
