"""What the SQLite and PostgreSQL adapters share: ``SqlStore`` (``store``), one part per port
(``part``), each beside its area's SQL and transaction functions (``accounts``, ``mailbox``, ...),
the ``Txn`` interface an engine gives them, the ``Dialect`` for where the two engines' SQL differs,
and the migration runner (the SQL files themselves are under ``storage/migrations/``, written once)."""
