-- Stories (docs/protocol.md §12). The server keeps only who posted a story, when, until when, and
-- who may see it (the author's contacts at posting time); the story's text, caption, media key and
-- hash travel end-to-end encrypted. A story's blobs are rows of `blobs` whose conv is the story id.
-- No foreign keys, as for blobs: the janitor deletes a story's blob files, then its rows.
CREATE TABLE stories (
    id TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    audience_size INTEGER NOT NULL
) {strict_without_rowid};
CREATE INDEX stories_expires ON stories (expires_at);
CREATE INDEX stories_author ON stories (author, created_at);
CREATE TABLE story_audience (
    story TEXT NOT NULL,
    account TEXT NOT NULL,
    PRIMARY KEY (story, account)
) {strict_without_rowid};
CREATE INDEX story_audience_account ON story_audience (account);
-- Per person: may a story reach contacts on other apps? (no row: yes)
CREATE TABLE story_settings (
    account TEXT PRIMARY KEY,
    cross_app BOOLEAN NOT NULL
) {strict_without_rowid};
CREATE INDEX blobs_conv ON blobs (conv);
