-- The webhook outbox: one row per event, the exact bytes to post, in the order of their ids. The id
-- is an identity column (the next one when left out); engines differ only in how such an id is
-- handed out.
CREATE TABLE webhook_outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    body BYTEA NOT NULL,
    enqueued_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at BIGINT NOT NULL
);
CREATE INDEX webhook_outbox_business ON webhook_outbox (business, id);
