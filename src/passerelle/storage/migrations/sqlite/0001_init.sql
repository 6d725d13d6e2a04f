-- Passerelle schema, version 1 (SQLite). Times are milliseconds since the epoch (UTC).
-- Tables keyed by text are WITHOUT ROWID (one B-tree instead of a table plus a key index).

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    app TEXT NOT NULL,
    alias TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    findability TEXT,
    read_receipts INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (app, alias)
) STRICT, WITHOUT ROWID;

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    curve25519 TEXT NOT NULL,
    ed25519 TEXT NOT NULL,
    signature TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX devices_account ON devices (account);

CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX tokens_device ON tokens (device);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE challenges (
    challenge TEXT PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX challenges_device ON challenges (device);
CREATE INDEX challenges_expires ON challenges (expires_at);

CREATE TABLE codes (
    app TEXT NOT NULL,
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts_left INTEGER NOT NULL,
    PRIMARY KEY (app, phone)
) STRICT, WITHOUT ROWID;
CREATE INDEX codes_expires ON codes (expires_at);

CREATE TABLE one_time_keys (
    device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    key TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (device, key_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE fallback_keys (
    device TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    key TEXT NOT NULL,
    signature TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    timer_s INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE members (
    conv TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (conv, account)
) STRICT, WITHOUT ROWID;
CREATE INDEX members_account ON members (account, conv);

-- The memory of client message ids, for idempotent sends (notices have none and are not kept).
-- The janitor deletes a record once it is older than the idempotency window and past its expiry,
-- when no mailbox item of it can be left.
CREATE TABLE messages (
    sender_device TEXT NOT NULL,
    client_id TEXT NOT NULL,
    id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (sender_device, client_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX messages_expires ON messages (expires_at);

-- One writer assigns message ids and mailbox positions from these counters, kept in the same
-- transaction as the rows that use them, so a position is never handed out twice, even after the
-- rows holding the highest ones were acked and deleted.
CREATE TABLE sequences (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    next_message_id INTEGER NOT NULL,
    next_pos INTEGER NOT NULL
) STRICT;
INSERT INTO sequences (id, next_message_id, next_pos) VALUES (0, 1, 1);

-- pos is the rowid: positions grow across all devices in commit order (one writer). No foreign key
-- to devices: remove_device deletes a device's items itself, and the hot insert skips the check.
-- The index on device also holds the rowid, so it serves "device = ? AND pos > ? ORDER BY pos".
CREATE TABLE mailbox (
    pos INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    message_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    conv TEXT NOT NULL,
    sender TEXT NOT NULL,
    sender_device TEXT NOT NULL,
    ts INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    body BLOB NOT NULL
) STRICT;
CREATE INDEX mailbox_device ON mailbox (device);
CREATE INDEX mailbox_expires ON mailbox (expires_at);
