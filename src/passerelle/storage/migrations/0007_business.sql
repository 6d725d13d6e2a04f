-- Business messaging (docs/business.md): businesses and their public profiles, business accounts
-- (the Cloud API's WABAs) and numbers, system-user tokens (only their SHA-256), each person's opaque
-- ids at each business, the consent ledger's current state (its changes: the engine files), each
-- person's last message to each business (the 24-hour window), whom each business account reached
-- outside a window and when (the messaging limit), and the people each business blocked.
CREATE TABLE businesses (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    about TEXT NOT NULL,
    description TEXT NOT NULL,
    logo_url TEXT NOT NULL,
    website TEXT NOT NULL,
    email TEXT NOT NULL,
    category TEXT NOT NULL,
    verified BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    secret TEXT NOT NULL
) {strict_without_rowid};
CREATE TABLE business_accounts (
    id TEXT PRIMARY KEY,
    business TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    tier BIGINT NOT NULL,
    created_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE INDEX business_accounts_business ON business_accounts (business);
CREATE TABLE business_numbers (
    id TEXT PRIMARY KEY,
    waba TEXT NOT NULL REFERENCES business_accounts (id) ON DELETE CASCADE,
    business TEXT NOT NULL,
    display_number TEXT NOT NULL UNIQUE,
    quality TEXT NOT NULL,
    created_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE INDEX business_numbers_business ON business_numbers (business);
CREATE TABLE business_tokens (
    id TEXT PRIMARY KEY,
    business TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
) {strict_without_rowid};
CREATE INDEX business_tokens_business ON business_tokens (business);
CREATE TABLE business_people (
    business TEXT NOT NULL,
    account TEXT NOT NULL,
    wa_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (business, account),
    UNIQUE (business, wa_id),
    UNIQUE (business, user_id)
) {strict_without_rowid};
CREATE INDEX business_people_account ON business_people (account);
CREATE TABLE business_consents (
    account TEXT NOT NULL,
    business TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT NOT NULL,
    source TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (account, business, scope)
) {strict_without_rowid};
CREATE INDEX business_consents_business ON business_consents (business, scope);
-- The 24-hour customer-service window: the person's last message to the business.
CREATE TABLE business_windows (
    business TEXT NOT NULL,
    account TEXT NOT NULL,
    last_inbound_at BIGINT NOT NULL,
    PRIMARY KEY (business, account)
) {strict_without_rowid};
CREATE INDEX business_windows_account ON business_windows (account);
-- The messaging limit: the last time each business account reached each person outside a window.
CREATE TABLE business_reach (
    waba TEXT NOT NULL,
    account TEXT NOT NULL,
    reached_at BIGINT NOT NULL,
    PRIMARY KEY (waba, account)
) {strict_without_rowid};
CREATE INDEX business_reach_time ON business_reach (waba, reached_at);
CREATE INDEX business_reach_account ON business_reach (account);
CREATE INDEX business_reach_at ON business_reach (reached_at);
-- People a business blocked (the Cloud API's block_users).
CREATE TABLE business_blocks (
    business TEXT NOT NULL,
    account TEXT NOT NULL,
    blocked_at BIGINT NOT NULL,
    PRIMARY KEY (business, account)
) {strict_without_rowid};
CREATE INDEX business_blocks_account ON business_blocks (account);
