"""Who this device talks to: people (contacts), their verified device keys, the members and timers
of conversations, and my own account (devices, settings, safety numbers)."""
