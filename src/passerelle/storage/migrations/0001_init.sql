-- Passerelle schema, version 1. Times are milliseconds since the epoch (UTC).
-- Written once for both engines (see storage/sql/migrate.py): BIGINT, BOOLEAN and BYTEA become
-- INTEGER, INTEGER and BLOB on SQLite, whose tables are STRICT; tables keyed by text are also
-- WITHOUT ROWID there (one B-tree instead of a table plus a key index).

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    app TEXT NOT NULL,
    alias TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    findability TEXT,
    read_receipts BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (app, alias)
) {strict_without_rowid};

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    curve25519 TEXT NOT NULL,
    ed25519 TEXT NOT NULL,
    signature TEXT NOT NULL,
    created_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE INDEX devices_account ON devices (account);

CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE INDEX tokens_device ON tokens (device);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE challenges (
    challenge TEXT PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE INDEX challenges_device ON challenges (device);
CREATE INDEX challenges_expires ON challenges (expires_at);

CREATE TABLE codes (
    app TEXT NOT NULL,
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts_left INTEGER NOT NULL,
    PRIMARY KEY (app, phone)
) {strict_without_rowid};
CREATE INDEX codes_expires ON codes (expires_at);

CREATE TABLE one_time_keys (
    device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    key TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (device, key_id)
) {strict_without_rowid};

CREATE TABLE fallback_keys (
    device TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    key TEXT NOT NULL,
    signature TEXT NOT NULL
) {strict_without_rowid};

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    timer_s INTEGER NOT NULL,
    created_at BIGINT NOT NULL
) {strict_without_rowid};

CREATE TABLE members (
    conv TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (conv, account)
) {strict_without_rowid};
CREATE INDEX members_account ON members (account, conv);

-- The memory of client message ids, for idempotent sends (notices have none and are not kept).
-- The janitor deletes a record once it is older than the idempotency window and past its expiry,
-- when no mailbox item of it can be left.
CREATE TABLE messages (
    sender_device TEXT NOT NULL,
    client_id TEXT NOT NULL,
    id BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (sender_device, client_id)
) {strict_without_rowid};
CREATE INDEX messages_expires ON messages (expires_at);

-- How message ids and mailbox positions are handed out, and the mailbox itself, differ by engine:
-- see 0001_init.sqlite.sql and 0001_init.postgres.sql.
