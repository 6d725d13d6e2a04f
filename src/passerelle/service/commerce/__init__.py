"""Commerce use cases (docs/commerce.md): catalogs, orders and payments of businesses."""
