-- The webhook outbox: one row per event, the exact bytes to post, in the order of their ids. The id
-- is the rowid (an INTEGER PRIMARY KEY is given the next one when left out); engines differ only in
-- how such an id is handed out.
CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY,
    business TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    body BLOB NOT NULL,
    enqueued_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_at INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_outbox_business ON webhook_outbox (business, id);
