"""What the SQLite and PostgreSQL adapters share: the SQL of every Store method outside the
mailbox as transaction functions (one module per area), ``SqlStore`` that runs them on an engine,
the ``Txn`` interface an engine gives them, the ``Dialect`` for where the two engines' SQL differs,
and the migration runner (the SQL files themselves are under ``storage/migrations/``, written once)."""
