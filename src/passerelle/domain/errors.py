"""The domain's error family. None of them knows about HTTP or WebSocket codes: the server maps them
in one table (passerelle.server.errors)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use case raises on purpose. ``code`` is the stable wire error code."""

    code = "error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)
        self.message = message or self.code


class InvalidInput(DomainError):
    code = "invalid_input"


class Unauthorized(DomainError):
    """No credentials, or credentials that are wrong, expired or revoked."""

    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    """Also raised for things that exist but that the caller may not see: the two are indistinguishable."""

    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class AliasTaken(Conflict):
    code = "alias_taken"


class TooLarge(DomainError):
    code = "too_large"


class QuotaExceeded(TooLarge):
    """The caller's account holds as much as its app allows (media bytes or blobs); nothing was
    stored. Freeing some (deleting a blob, or waiting for one to expire) makes room again."""

    code = "quota_exceeded"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str = "", *, retry_after_s: float = 1.0) -> None:
        super().__init__(message or "too many requests, slow down")
        self.retry_after_s = retry_after_s


class StaleDevices(DomainError):
    """A send named a device set that differs from the current one. The client refreshes and retries."""

    code = "stale_devices"

    def __init__(self, *, missing: list[str], extra: list[str]) -> None:
        super().__init__("the recipient device list changed; refresh it and send again")
        self.missing = missing
        self.extra = extra


class Unavailable(DomainError):
    """A dependency (database, broker) is down; the request may be retried."""

    code = "unavailable"
