"""Encrypted media: uploads, downloads and expiry of opaque blobs."""
