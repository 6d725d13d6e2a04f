"""Privacy and safety: contacts, blocks, message requests, settings, last seen, reports, export and
erasure; the safety policy the message path and the directory ask."""
