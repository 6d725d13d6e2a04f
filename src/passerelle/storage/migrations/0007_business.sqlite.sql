-- The consent ledger: every change, in order. The id is the rowid (an INTEGER PRIMARY KEY is given
-- the next one when left out); engines differ only in how such an id is handed out.
CREATE TABLE business_consent_ledger (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    business TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT NOT NULL,
    source TEXT NOT NULL,
    at INTEGER NOT NULL
) STRICT;
CREATE INDEX business_consent_ledger_account ON business_consent_ledger (account, id);
