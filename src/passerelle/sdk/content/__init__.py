"""``client.content``: rich content inside the encryption (docs/protocol.md §11)."""
