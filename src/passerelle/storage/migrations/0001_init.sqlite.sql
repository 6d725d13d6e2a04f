-- SQLite: one writer assigns message ids and mailbox positions from these counters, kept in the
-- same transaction as the rows that use them, so a position is never handed out twice, even after
-- the rows holding the highest ones were acked and deleted.
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
