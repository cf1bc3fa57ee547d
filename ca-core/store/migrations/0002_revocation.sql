-- Revocation: certificate revocation details, per-CA CRL and OCSP
-- settings, CRL state, leader leases, OCSP responder certificates and
-- bulk revocation jobs.

ALTER TABLE certificates ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;
-- RFC 5280 CRLReason code; -1 while not revoked or held.
ALTER TABLE certificates ADD COLUMN revocation_reason INTEGER NOT NULL DEFAULT -1;
ALTER TABLE certificates ADD COLUMN invalidity_date BIGINT NOT NULL DEFAULT 0;
CREATE INDEX certificates_ca_status ON certificates (tenant_id, ca_id, status);

ALTER TABLE cas ADD COLUMN crl_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cas ADD COLUMN ocsp_enabled INTEGER NOT NULL DEFAULT 0;
-- Incremented with every status change of a certificate the CA issued, so
-- that OCSP caches on every replica notice within a second.
ALTER TABLE cas ADD COLUMN status_version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE crls (
    tenant_id         TEXT NOT NULL,
    ca_id             TEXT NOT NULL,
    crl_number        BIGINT NOT NULL,
    this_update       BIGINT NOT NULL,
    next_update       BIGINT NOT NULL,
    der               BYTES,
    entries           BIGINT NOT NULL,
    -- first unpublished status change; 0 when the CRL is current
    dirty_since       BIGINT NOT NULL,
    publish_requested INTEGER NOT NULL,
    generated_by      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, ca_id)
);

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE ocsp_responders (
    tenant_id   TEXT NOT NULL,
    ca_id       TEXT NOT NULL,
    serial      TEXT NOT NULL,
    cert        BYTES NOT NULL,
    key_backend TEXT NOT NULL,
    key_ref     TEXT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, ca_id, serial)
);

CREATE TABLE bulk_jobs (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    status          TEXT NOT NULL,
    reason          INTEGER NOT NULL,
    invalidity_date BIGINT NOT NULL,
    source          TEXT NOT NULL,
    total           BIGINT NOT NULL,
    done            BIGINT NOT NULL,
    failed          BIGINT NOT NULL,
    requested_by    TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finished_at     BIGINT NOT NULL,
    lease_holder    TEXT NOT NULL,
    lease_expires   BIGINT NOT NULL
);
CREATE INDEX bulk_jobs_tenant ON bulk_jobs (tenant_id, created_at);

CREATE TABLE bulk_items (
    job_id TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    serial TEXT NOT NULL,
    state  TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
