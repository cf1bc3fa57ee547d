-- certgate ca-core schema, version 1. Portable between SQLite and
-- PostgreSQL: times are BIGINT unix microseconds, flags are INTEGER 0/1,
-- lists are JSON text, and BYTES becomes BLOB or BYTEA.

CREATE TABLE tenants (
    id              TEXT PRIMARY KEY,
    display_name    TEXT NOT NULL,
    max_active      BIGINT NOT NULL,
    rate_per_window BIGINT NOT NULL,
    -- issued or on-hold, unexpired, quota-counted certificates (plus
    -- reservations in flight); kept exact by the issuance transactions.
    active_count    BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
);

CREATE TABLE cas (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    id            TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    type          TEXT NOT NULL,
    status        TEXT NOT NULL,
    parent_id     TEXT NOT NULL,
    key_type      TEXT NOT NULL,
    rsa_pss       INTEGER NOT NULL,
    key_backend   TEXT NOT NULL,
    key_ref       TEXT NOT NULL,
    subject       TEXT NOT NULL,
    serial        TEXT NOT NULL,
    not_before    BIGINT NOT NULL,
    not_after     BIGINT NOT NULL,
    cert          BYTES,
    csr           BYTES,
    profiles      TEXT NOT NULL,
    path_len      INTEGER NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE profiles (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    id         TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE endpoints (
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    id                 TEXT NOT NULL,
    protocol           TEXT NOT NULL,
    description        TEXT NOT NULL,
    ca_id              TEXT NOT NULL,
    default_profile    TEXT NOT NULL,
    allowed_profiles   TEXT NOT NULL,
    frontend           TEXT NOT NULL,
    disabled           INTEGER NOT NULL,
    auth_method        TEXT NOT NULL,
    auth_username      TEXT NOT NULL,
    secret_hash        TEXT NOT NULL,
    rate_per_window    BIGINT NOT NULL,
    require_registered INTEGER NOT NULL,
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE certificates (
    -- Serials are random 159-bit numbers: unique across every CA.
    serial        TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    ca_id         TEXT NOT NULL,
    profile_id    TEXT NOT NULL,
    endpoint_id   TEXT NOT NULL,
    end_entity_id TEXT NOT NULL,
    -- reserved (signing in flight), issued, on_hold, revoked, expired
    status        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    sans          TEXT NOT NULL,
    key_type      TEXT NOT NULL,
    not_before    BIGINT NOT NULL,
    not_after     BIGINT NOT NULL,
    der           BYTES,
    sha256        TEXT NOT NULL,
    requester     TEXT NOT NULL,
    issued_at     BIGINT NOT NULL,
    request_key   TEXT,
    request_hash  TEXT NOT NULL,
    counts_quota  INTEGER NOT NULL,
    -- rate windows charged by the reservation, released with it on failure
    rate_scopes   TEXT NOT NULL,
    rate_window   BIGINT NOT NULL
);
CREATE UNIQUE INDEX certificates_request_key ON certificates (tenant_id, request_key) WHERE request_key IS NOT NULL;
CREATE INDEX certificates_active ON certificates (tenant_id, status, not_after);
CREATE INDEX certificates_issued ON certificates (tenant_id, issued_at);
CREATE INDEX certificates_endpoint ON certificates (tenant_id, endpoint_id, issued_at);
CREATE INDEX certificates_end_entity ON certificates (tenant_id, end_entity_id);
CREATE INDEX certificates_reserved ON certificates (status, issued_at);

CREATE TABLE end_entities (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    endpoint_id      TEXT NOT NULL,
    id               TEXT NOT NULL,
    protocol         TEXT NOT NULL,
    status           TEXT NOT NULL,
    expires_at       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    last_enrolled_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, endpoint_id, id)
);

CREATE TABLE challenges (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    endpoint_id   TEXT NOT NULL,
    value_hash    TEXT NOT NULL UNIQUE,
    end_entity_id TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    used_at       BIGINT NOT NULL
);
CREATE INDEX challenges_expiry ON challenges (expires_at);

CREATE TABLE pending_requests (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    endpoint_id    TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    status         TEXT NOT NULL,
    csr            BYTES NOT NULL,
    profile_id     TEXT NOT NULL,
    end_entity_id  TEXT NOT NULL,
    subject        TEXT NOT NULL,
    sans           TEXT NOT NULL,
    serial         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    requester      TEXT NOT NULL,
    decided_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (tenant_id, endpoint_id, transaction_id)
);
CREATE INDEX pending_requests_list ON pending_requests (tenant_id, created_at);

CREATE TABLE rate_windows (
    scope        TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (scope, window_start)
);

CREATE TABLE audit_events (
    tenant_id     TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    time          BIGINT NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    endpoint_id   TEXT NOT NULL,
    end_entity_id TEXT NOT NULL,
    target        TEXT NOT NULL,
    result        TEXT NOT NULL,
    detail        TEXT NOT NULL,
    prev_hash     BYTES NOT NULL,
    hash          BYTES NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_events_time ON audit_events (tenant_id, time);

CREATE TABLE audit_heads (
    tenant_id TEXT PRIMARY KEY,
    seq       BIGINT NOT NULL,
    hash      BYTES NOT NULL
);
