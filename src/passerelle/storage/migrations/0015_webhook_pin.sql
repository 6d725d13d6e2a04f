-- A webhook a bot registered itself (docs/business.md section 9) while the operator allows public
-- addresses only: every request to it resolves its host, refuses a non-public address and connects
-- to the address it checked (no DNS rebinding to the operator's network). The operator's own
-- webhooks are not held to it.
ALTER TABLE business_webhooks ADD COLUMN public_only BOOLEAN NOT NULL DEFAULT FALSE;
