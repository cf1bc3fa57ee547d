-- SCEP: registration authority certificates live beside the OCSP
-- responders (both are delegated certificates a CA issues to itself with a
-- key in its backend); one-time challenges may be bound to the subject and
-- subjectAltNames they are good for.

ALTER TABLE ocsp_responders ADD COLUMN purpose TEXT NOT NULL DEFAULT 'ocsp';
ALTER TABLE challenges ADD COLUMN binding TEXT NOT NULL DEFAULT '';
