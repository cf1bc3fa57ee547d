-- ACME state (RFC 8555): nonces, accounts, external account binding keys,
-- orders, authorizations and challenges, per endpoint; and endpoint
-- settings (terms of service, ...), as JSON.

ALTER TABLE endpoints ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

CREATE TABLE acme_nonces (
    nonce      TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX acme_nonces_expiry ON acme_nonces (expires_at);

CREATE TABLE acme_accounts (
    tenant_id      TEXT NOT NULL,
    endpoint_id    TEXT NOT NULL,
    id             TEXT NOT NULL,
    key_thumbprint TEXT NOT NULL,
    jwk            TEXT NOT NULL,
    contact        TEXT NOT NULL,
    status         TEXT NOT NULL,
    eab_kid        TEXT NOT NULL,
    terms_agreed   INTEGER NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, endpoint_id, id),
    UNIQUE (tenant_id, endpoint_id, key_thumbprint)
);

CREATE TABLE acme_eab_keys (
    tenant_id   TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    kid         TEXT NOT NULL,
    hmac_key    BYTES NOT NULL,
    label       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    account_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, endpoint_id, kid)
);

CREATE TABLE acme_orders (
    tenant_id   TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    id          TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    status      TEXT NOT NULL,
    identifiers TEXT NOT NULL,
    authz_ids   TEXT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    profile_id  TEXT NOT NULL,
    replaces    TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    error       TEXT NOT NULL,
    cert_serial TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    -- when the last finalization began: a stuck one is taken over from it
    processing_since BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, endpoint_id, id)
);
CREATE INDEX acme_orders_account ON acme_orders (tenant_id, endpoint_id, account_id, created_at);
CREATE INDEX acme_orders_replaces ON acme_orders (tenant_id, endpoint_id, replaces);

CREATE TABLE acme_authzs (
    tenant_id   TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    id          TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    ident_type  TEXT NOT NULL,
    ident_value TEXT NOT NULL,
    wildcard    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, endpoint_id, id)
);
CREATE INDEX acme_authzs_reuse ON acme_authzs (tenant_id, endpoint_id, account_id, ident_type, ident_value, status);

CREATE TABLE acme_challenges (
    tenant_id    TEXT NOT NULL,
    endpoint_id  TEXT NOT NULL,
    id           TEXT NOT NULL,
    authz_id     TEXT NOT NULL,
    type         TEXT NOT NULL,
    token        TEXT NOT NULL,
    status       TEXT NOT NULL,
    validated_at BIGINT NOT NULL,
    error        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, endpoint_id, id)
);
CREATE INDEX acme_challenges_authz ON acme_challenges (tenant_id, endpoint_id, authz_id);
