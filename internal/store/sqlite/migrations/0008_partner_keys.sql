-- Partners' public keys, the jti of every accepted assertion until it
-- expires (its primary key refuses replays across processes), and the access
-- tokens minted from assertions, stored as hashes. Mirrors postgres/0008.

CREATE TABLE partner_keys (
    client_id  TEXT NOT NULL REFERENCES tenants (client_id),
    kid        TEXT NOT NULL,
    key_type   TEXT NOT NULL CHECK (key_type IN ('ed25519', 'ec-p256', 'rsa')),
    public_key TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    revoked_at DATETIME,
    PRIMARY KEY (client_id, kid)
);

CREATE TABLE used_assertions (
    client_id  TEXT NOT NULL REFERENCES tenants (client_id),
    jti        TEXT NOT NULL,
    expires_at DATETIME NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX used_assertions_expires_at_idx ON used_assertions (expires_at);

CREATE TABLE access_tokens (
    hash       BLOB PRIMARY KEY,
    client_id  TEXT NOT NULL,
    kid        TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    FOREIGN KEY (client_id, kid) REFERENCES partner_keys (client_id, kid)
);
CREATE INDEX access_tokens_expires_at_idx ON access_tokens (expires_at);
