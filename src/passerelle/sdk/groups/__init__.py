"""``client.groups``: groups end-to-end encrypted with Megolm (docs/protocol.md §10)."""
