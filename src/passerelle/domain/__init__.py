"""The domain: ids, apps, addresses, privacy and conversation rules. Pure values and functions."""
