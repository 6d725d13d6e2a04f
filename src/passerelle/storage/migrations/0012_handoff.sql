-- Hand-offs (docs/bots.md, "Hand-off"): a business's bot hands a customer's conversation to a
-- person. Metadata and the bot's own summary only (the server never reads the conversation): the
-- business, the number it came through, the person (their account; the business knows them by
-- user_id), the status (open, taken, handed_back, resolved), the agent who took it, and times. At
-- most one active (open or taken) hand-off per (business, account). A person's rows go with them.
CREATE TABLE business_handoffs (
    id TEXT PRIMARY KEY,
    business TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    account TEXT NOT NULL,
    user_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    agent TEXT NOT NULL,
    active BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (business, account, active)
) {strict_without_rowid};
CREATE INDEX business_handoffs_status ON business_handoffs (business, status, created_at);
CREATE INDEX business_handoffs_account ON business_handoffs (account);
