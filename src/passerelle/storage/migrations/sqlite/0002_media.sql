-- Encrypted media (docs/protocol.md §8). The server keeps ciphertext in a BlobStore (files under the
-- data directory by default) and only this metadata here: who uploaded it, into which conversation,
-- how big, until when. complete = 0 is an upload in progress; received is its offset.
-- No foreign keys: the janitor and account erasure delete a blob's file before its row, so a row
-- never vanishes (by cascade) while its file stays behind.
CREATE TABLE blobs (
    id TEXT PRIMARY KEY,
    uploader TEXT NOT NULL,
    conv TEXT NOT NULL,
    size INTEGER NOT NULL,
    received INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    ttl_s INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX blobs_expires ON blobs (expires_at);
CREATE INDEX blobs_uploader ON blobs (uploader, complete);
