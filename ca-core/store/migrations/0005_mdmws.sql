-- MDM configurations: Digital IDs (subject and SAN templates) per mdmws
-- endpoint, and challenges that carry what their enrollment gets in place
-- of the CSR's placeholder subject.

CREATE TABLE digital_ids (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    endpoint_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    parent_dn   TEXT NOT NULL,
    rdn_format  TEXT NOT NULL,
    san_formats TEXT NOT NULL,
    ca_id       TEXT NOT NULL,
    profile_id  TEXT NOT NULL,
    mode        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, endpoint_id, name)
);

ALTER TABLE challenges ADD COLUMN apply_binding INTEGER NOT NULL DEFAULT 0;
ALTER TABLE challenges ADD COLUMN profile_id TEXT NOT NULL DEFAULT '';
ALTER TABLE challenges ADD COLUMN digital_id TEXT NOT NULL DEFAULT '';
