-- A person's links between their own accounts on several apps (docs/protocol.md section 16,
-- docs/business.md section 3.1). Each linked account belongs to one link group ("person", an opaque
-- random id the server never shows to anyone but the person); at most a few accounts per group.
-- A link request is a one-time code made by a device of one account and taken (once, before it
-- expires) by a device of another: only its hash is kept. A share says the person chose to be one
-- customer at a business. All rows go with an erased account; a group left alone is dissolved.
CREATE TABLE account_links (
    account TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    linked_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE INDEX account_links_person ON account_links (person);
CREATE TABLE link_requests (
    code_hash TEXT PRIMARY KEY,
    account TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE TABLE identity_shares (
    person TEXT NOT NULL,
    business TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (person, business)
) {strict_without_rowid};
