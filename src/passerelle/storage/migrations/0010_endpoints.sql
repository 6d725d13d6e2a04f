-- Business endpoints (docs/business.md section 4): the device that holds a business's keys. A business
-- has at most one endpoint at a time, a device of the business's own account (app "biz", alias its
-- slug); ``mode`` is how the operator enrolled it (``hosted`` or ``self_run``) and the signed hosting
-- statement is kept as signed (empty until the endpoint sends it).
CREATE TABLE business_endpoints (
    business TEXT PRIMARY KEY REFERENCES businesses (id) ON DELETE CASCADE,
    account TEXT NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    device TEXT NOT NULL,
    mode TEXT NOT NULL,
    statement TEXT NOT NULL,
    signature TEXT NOT NULL,
    enrolled_at BIGINT NOT NULL
) {strict_without_rowid};
-- One-time enrolment tokens (only their SHA-256): the operator issues one per endpoint to enrol, with
-- the mode the endpoint must then state; taking one deletes it.
CREATE TABLE business_enrolments (
    hash TEXT PRIMARY KEY,
    business TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    mode TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE INDEX business_enrolments_business ON business_enrolments (business);
