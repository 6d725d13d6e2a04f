-- Privacy and safety (docs/protocol.md section 9): contacts, blocks, message requests, settings,
-- reports. Every row that names a person goes with the account (ON DELETE CASCADE), and account
-- erasure (storage.sql_erase) deletes the rest explicitly.

CREATE TABLE contacts (
    owner TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, contact)
) {strict_without_rowid};
CREATE INDEX contacts_contact ON contacts (contact);

CREATE TABLE blocks (
    blocker TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    blocked TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker, blocked)
) {strict_without_rowid};
CREATE INDEX blocks_blocked ON blocks (blocked);

-- A member's state in a direct conversation: 'accepted', 'request' (in the requests folder) or
-- 'declined'. No row: not decided yet (the conversation's first message decides).
CREATE TABLE member_states (
    conv TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (conv, account)
) {strict_without_rowid};
CREATE INDEX member_states_account ON member_states (account, state);
-- Conversations that existed before this version were accepted by their members.
INSERT INTO member_states (conv, account, state, since)
    SELECT m.conv, m.account, 'accepted', c.created_at FROM members m JOIN conversations c ON c.id = m.conv;

-- Settings beyond findability and read receipts (kept on accounts); no row: the defaults.
CREATE TABLE privacy_settings (
    account TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    message_from TEXT NOT NULL DEFAULT 'everyone',
    last_seen TEXT NOT NULL DEFAULT 'contacts',
    last_seen_at BIGINT
) {strict_without_rowid};

-- Reports: the messages are what the reporter chose to reveal, decrypted on their device (JSON).
-- No foreign keys: erasure deletes the reports a person made and those about them explicitly.
CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    reporter TEXT NOT NULL,
    reported TEXT NOT NULL,
    conv TEXT,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    messages TEXT NOT NULL
) {strict_without_rowid};
CREATE INDEX reports_created ON reports (created_at);
CREATE INDEX reports_reporter ON reports (reporter);
CREATE INDEX reports_reported ON reports (reported);
