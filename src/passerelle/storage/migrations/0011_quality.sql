-- Quality and messaging-limit tiers (docs/business.md section 5). Whom each template reached outside
-- a window, from which number (the quality rates' denominators, per number and per template); the
-- negative signals — a person's block of the business, a report, a declared-kind mismatch, a
-- marketing stop — at most one per (business account, person, kind), the latest, with the number
-- and template that last reached the person ('' when none did); and each business account's tier
-- evaluation (RED evaluations in a row, the time of the last one). Rows older than 7 days are
-- deleted by the janitor, and a person's with the person.
CREATE TABLE business_template_reach (
    number TEXT NOT NULL,
    template TEXT NOT NULL,
    account TEXT NOT NULL,
    waba TEXT NOT NULL,
    reached_at BIGINT NOT NULL,
    PRIMARY KEY (number, template, account)
) {strict_without_rowid};
CREATE INDEX business_template_reach_waba ON business_template_reach (waba, reached_at);
CREATE INDEX business_template_reach_account ON business_template_reach (account, waba, reached_at);
CREATE INDEX business_template_reach_at ON business_template_reach (reached_at);
CREATE TABLE business_signals (
    waba TEXT NOT NULL,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    template TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (waba, account, kind)
) {strict_without_rowid};
CREATE INDEX business_signals_waba ON business_signals (waba, at);
CREATE INDEX business_signals_account ON business_signals (account);
CREATE INDEX business_signals_at ON business_signals (at);
CREATE TABLE business_evaluations (
    waba TEXT PRIMARY KEY REFERENCES business_accounts (id) ON DELETE CASCADE,
    red_streak BIGINT NOT NULL,
    evaluated_at BIGINT NOT NULL
) {strict_without_rowid};
