-- Business webhooks (docs/business.md section 9): each business's callback URL, the verify token of
-- the handshake and the app secret that signs each POST (kept so the server can sign; never shown
-- again in full). The outbox of events waiting to be posted is in the engine files.
CREATE TABLE business_webhooks (
    business TEXT PRIMARY KEY REFERENCES businesses (id) ON DELETE CASCADE,
    callback_url TEXT NOT NULL,
    verify_token TEXT NOT NULL,
    app_secret TEXT NOT NULL,
    updated_at BIGINT NOT NULL
) {strict_without_rowid};
