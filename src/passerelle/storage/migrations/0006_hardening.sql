-- Hardening (issue 9): a removal that keeps the person out, media quotas, one-time codes under a key.

-- People an admin removed from a group (docs/protocol.md section 10.2): no invite link lets them
-- back in until an admin adds them again (which deletes the row). Someone who left is not here.
CREATE TABLE group_bars (
    conv TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    barred_at BIGINT NOT NULL,
    PRIMARY KEY (conv, account)
) {strict_without_rowid};
CREATE INDEX group_bars_account ON group_bars (account);

-- What each account holds in media (docs/protocol.md section 8.1): the declared sizes and the
-- number of its blobs and unfinished uploads, kept in step with `blobs` by the same transactions,
-- so a quota check is one conditional update (atomic on both engines).
CREATE TABLE media_usage (
    account TEXT PRIMARY KEY,
    bytes BIGINT NOT NULL,
    blobs BIGINT NOT NULL
) {strict_without_rowid};
INSERT INTO media_usage (account, bytes, blobs)
    SELECT uploader, SUM(size), COUNT(*) FROM blobs GROUP BY uploader;

-- One-time codes are now an HMAC under a server key kept outside the database; the codes pending
-- (salted SHA-256, live 10 minutes) are dropped: whoever waits for one asks for a new one.
DELETE FROM codes;
