-- Encrypted media (docs/protocol.md §8). The server keeps ciphertext in a BlobStore (files under the
-- data directory by default) and only this metadata here: who uploaded it, into which conversation,
-- how big, until when. complete false (0 on SQLite) is an upload in progress; received is its offset.
-- No foreign keys: the janitor and account erasure delete a blob's file before its row, so a row
-- never vanishes (by cascade) while its file stays behind.
CREATE TABLE blobs (
    id TEXT PRIMARY KEY,
    uploader TEXT NOT NULL,
    conv TEXT NOT NULL,
    size BIGINT NOT NULL,
    received BIGINT NOT NULL,
    complete BOOLEAN NOT NULL,
    ttl_s INTEGER,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE INDEX blobs_expires ON blobs (expires_at);
CREATE INDEX blobs_uploader ON blobs (uploader, complete);
