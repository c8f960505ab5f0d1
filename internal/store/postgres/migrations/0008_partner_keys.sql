-- Partners' public keys, the jti of every accepted assertion until it
-- expires (its primary key refuses replays across processes), and the access
-- tokens minted from assertions, stored as hashes.

CREATE TABLE partner_keys (
    client_id  text NOT NULL REFERENCES tenants (client_id),
    kid        text NOT NULL,
    key_type   text NOT NULL CHECK (key_type IN ('ed25519', 'ec-p256', 'rsa')),
    public_key text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (client_id, kid)
);

CREATE TABLE used_assertions (
    client_id  text NOT NULL REFERENCES tenants (client_id),
    jti        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX used_assertions_expires_at_idx ON used_assertions (expires_at);

CREATE TABLE access_tokens (
    hash       bytea PRIMARY KEY,
    client_id  text NOT NULL,
    kid        text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    FOREIGN KEY (client_id, kid) REFERENCES partner_keys (client_id, kid)
);
CREATE INDEX access_tokens_expires_at_idx ON access_tokens (expires_at);
