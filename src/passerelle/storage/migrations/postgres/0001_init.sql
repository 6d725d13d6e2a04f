-- Passerelle schema, version 1 (PostgreSQL). Times are milliseconds since the epoch (UTC).

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
);

-- mbox_seq is the device's last mailbox position. An append increments it with UPDATE ... RETURNING,
-- which row-locks the device until commit: a device's positions are contiguous and commit in order,
-- even with several server processes writing.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    curve25519 TEXT NOT NULL,
    ed25519 TEXT NOT NULL,
    signature TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    mbox_seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX devices_account ON devices (account);

CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX tokens_device ON tokens (device);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE challenges (
    challenge TEXT PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX challenges_device ON challenges (device);
CREATE INDEX challenges_expires ON challenges (expires_at);

CREATE TABLE codes (
    app TEXT NOT NULL,
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts_left INTEGER NOT NULL,
    PRIMARY KEY (app, phone)
);
CREATE INDEX codes_expires ON codes (expires_at);

CREATE TABLE one_time_keys (
    device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    key TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (device, key_id)
);

CREATE TABLE fallback_keys (
    device TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    key TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    timer_s INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE members (
    conv TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (conv, account)
);
CREATE INDEX members_account ON members (account, conv);

-- Message ids for every stored message, notices included (a notice keeps no record below).
CREATE SEQUENCE message_ids;

-- The memory of client message ids, for idempotent sends. The janitor deletes a record once it is
-- older than the idempotency window and past its expiry, when no mailbox item of it can be left.
CREATE TABLE messages (
    sender_device TEXT NOT NULL,
    client_id TEXT NOT NULL,
    id BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (sender_device, client_id)
);
CREATE INDEX messages_expires ON messages (expires_at);

-- No foreign key to devices: remove_device deletes a device's items itself, and the hot insert
-- skips the check. Bodies are ciphertext: storing them EXTERNAL skips a useless compression attempt.
CREATE TABLE mailbox (
    device TEXT NOT NULL,
    pos BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    conv TEXT NOT NULL,
    sender TEXT NOT NULL,
    sender_device TEXT NOT NULL,
    ts BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (device, pos)
);
ALTER TABLE mailbox ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE INDEX mailbox_expires ON mailbox (expires_at);
