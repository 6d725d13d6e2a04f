"""Accounts and devices: registering, proving who you are (tokens, challenges, one-time codes,
passwords), device keys."""
