-- PostgreSQL: mbox_seq is the device's last mailbox position. An append increments it with
-- UPDATE ... RETURNING, which row-locks the device until commit: a device's positions are
-- contiguous and commit in order, even with several server processes writing.
ALTER TABLE devices ADD COLUMN mbox_seq BIGINT NOT NULL DEFAULT 0;

-- Message ids for every stored message, notices included (a notice keeps no record in messages).
CREATE SEQUENCE message_ids;

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
