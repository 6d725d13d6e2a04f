"""Messaging: the send path (a ``SendMessage`` command, the policy, the group-commit pipeline, the
group fan-out), receipts, typing, conversations and timers, and the mailbox's janitor."""
