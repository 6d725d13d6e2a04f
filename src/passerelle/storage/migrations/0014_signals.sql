-- Why a negative signal was given (docs/business.md section 5): a person's report reason (`spam`,
-- `scam`, `offensive`, `unwanted`, `other`), or for a declared-kind mismatch what was declared and
-- what the person's device found (kinds and template names, never content); '' for a block or a
-- stop. The operator reads them with the business's signals (admin API).
ALTER TABLE business_signals ADD COLUMN reason TEXT NOT NULL DEFAULT '';
