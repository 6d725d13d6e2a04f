-- Groups (docs/protocol.md section 10): roles, invite links, and group bodies stored once.
-- A group is a conversation of kind 'group'; its members are rows of `members` with a role.

ALTER TABLE members ADD COLUMN role TEXT NOT NULL DEFAULT 'member';

-- Invite links. Only a hash of the secret token is kept; `id` names the link for its admins.
CREATE TABLE group_invites (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    conv TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    created_by TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE INDEX group_invites_conv ON group_invites (conv);
CREATE INDEX group_invites_creator ON group_invites (created_by);

-- A group message's body (a Megolm envelope), stored once and referenced by `mailbox.body_id`
-- from the mailbox of every member device. Its id is the message id; it expires with its items.
CREATE TABLE bodies (
    id BIGINT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    body BYTEA NOT NULL
) {strict};
CREATE INDEX bodies_expires ON bodies (expires_at);

-- NULL for a 1:1 item (its body is inline). The partial index holds group items only, so the
-- 1:1 insert does not pay for it; it lets the janitor find bodies nothing references any more.
ALTER TABLE mailbox ADD COLUMN body_id BIGINT;
CREATE INDEX mailbox_body ON mailbox (body_id) WHERE body_id IS NOT NULL;
