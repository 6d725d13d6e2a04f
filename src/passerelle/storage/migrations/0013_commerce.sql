-- Commerce (docs/commerce.md). A business's catalogs and their products are public business data,
-- like its profile: kept in the clear. A product's price is an integer count of minor units with its
-- ISO 4217 currency; images are media references (JSON list); stock counts what is left to sell
-- (an order reserves from it).
CREATE TABLE commerce_catalogs (
    id TEXT PRIMARY KEY,
    business TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE INDEX commerce_catalogs_business ON commerce_catalogs (business);
CREATE TABLE commerce_products (
    id TEXT PRIMARY KEY,
    catalog TEXT NOT NULL REFERENCES commerce_catalogs (id) ON DELETE CASCADE,
    retailer_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    images TEXT NOT NULL,
    stock BIGINT NOT NULL,
    availability TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (catalog, retailer_id)
) {strict_without_rowid};
-- Orders: commerce metadata the business shares with the operator (which person bought what, for how
-- much, and the status); the customer's note stays in the end-to-end encrypted conversation. Lines
-- are JSON [{retailer_id, name, quantity, unit_price}], prices from the catalog at the time.
CREATE TABLE commerce_orders (
    id TEXT PRIMARY KEY,
    business TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    catalog TEXT NOT NULL,
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    lines TEXT NOT NULL,
    total BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) {strict_without_rowid};
CREATE INDEX commerce_orders_person ON commerce_orders (business, account, created_at);
CREATE INDEX commerce_orders_catalog ON commerce_orders (catalog, created_at);
-- Payments of orders through the payment provider. The amount is the order's total. An idempotency
-- key names one payment of an order (a retried request finds it); at most one payment of an order is
-- pending, succeeded or refunded at a time (the partial unique index): nothing is charged twice.
CREATE TABLE commerce_payments (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES commerce_orders (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_ref TEXT NOT NULL,
    method TEXT NOT NULL,
    error TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (order_id, idempotency_key)
) {strict_without_rowid};
CREATE UNIQUE INDEX commerce_payments_taking ON commerce_payments (order_id)
    WHERE status IN ('pending', 'succeeded', 'refunded');
