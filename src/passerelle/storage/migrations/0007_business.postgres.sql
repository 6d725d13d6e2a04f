-- The consent ledger: every change, in order. The id is an identity column (the next one when left
-- out); engines differ only in how such an id is handed out.
CREATE TABLE business_consent_ledger (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account TEXT NOT NULL,
    business TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT NOT NULL,
    source TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX business_consent_ledger_account ON business_consent_ledger (account, id);
