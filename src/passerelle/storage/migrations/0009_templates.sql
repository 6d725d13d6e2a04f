-- Message templates (docs/business.md section 6, "Templates"): per business account (WABA), unique
-- by name and language; the components as the JSON the business sent; the status the operator and
-- the quality evaluation set (PENDING, APPROVED, REJECTED, PAUSED, DISABLED), with the rejection
-- reason, how many times low quality paused it and until when.
CREATE TABLE business_templates (
    id TEXT PRIMARY KEY,
    waba TEXT NOT NULL REFERENCES business_accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    category TEXT NOT NULL,
    parameter_format TEXT NOT NULL,
    components TEXT NOT NULL,
    status TEXT NOT NULL,
    quality TEXT NOT NULL,
    rejected_reason TEXT NOT NULL,
    pauses BIGINT NOT NULL,
    paused_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (waba, name, language)
) {strict_without_rowid};
