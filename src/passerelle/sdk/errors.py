"""The SDK's exceptions. Server error codes (docs/protocol.md §2) map to one class each, so callers
catch what they can handle (``except AliasTaken``) without parsing strings.

``error_from_code`` is the one table from a wire code to a class; REST answers and WebSocket
``error`` frames both go through it. Local failures (``NotConnected``, ``StoreError``,
``SecurityError``) have no wire code of their own.
"""

from __future__ import annotations

from collections.abc import Sequence


class SdkError(Exception):
    """Base of every SDK error. ``code`` is the wire code when the server sent one."""

    code = "error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)
        self.message = message or self.code


class InvalidInput(SdkError):
    code = "invalid_input"


class Unauthorized(SdkError):
    """The token, code, password or signature was refused; also: this device was removed."""

    code = "unauthorized"


class Forbidden(SdkError):
    code = "forbidden"


class NotFound(SdkError):
    """Does not exist, or you may not see it: the two look the same."""

    code = "not_found"


class Conflict(SdkError):
    code = "conflict"


class AliasTaken(Conflict):
    code = "alias_taken"


class StaleDevices(Conflict):
    """A send named the wrong device set; the SDK refreshes and retries once before raising this."""

    code = "stale_devices"

    def __init__(self, message: str = "", *, missing: Sequence[str] = (), extra: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = list(missing)
        self.extra = list(extra)


class TooLarge(SdkError):
    code = "too_large"


class QuotaExceeded(TooLarge):
    """My account holds as much media as its app allows; delete a blob or wait for one to expire."""

    code = "quota_exceeded"


class RateLimited(SdkError):
    code = "rate_limited"

    def __init__(self, message: str = "", *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnsupportedVersion(SdkError):
    code = "unsupported_version"


class BusinessRefused(SdkError):
    """A business endpoint's send refused by a business rule (docs/business.md section 5);
    ``failure`` names the rule (``domain.business.errors.Failure``: ``outside_window``, ...)."""

    code = "cloud_api"

    def __init__(self, message: str = "", *, failure: str = "", details: str = "") -> None:
        super().__init__(message)
        self.failure = failure
        self.details = details


class Unavailable(SdkError):
    """The server or one of its dependencies is down; try again later."""

    code = "unavailable"


class ProtocolViolation(SdkError):
    """The server sent something this SDK cannot understand (``bad_json``, ``bad_frame`` ...), or we did."""

    code = "protocol_error"


class NotConnected(SdkError):
    """The operation needs the WebSocket and the client is not connected (call ``connect()``)."""

    code = "not_connected"


class StoreError(SdkError):
    """The local store cannot be opened: missing, wrong passphrase, or damaged."""

    code = "store_error"


class SecurityError(SdkError):
    """A peer's keys failed verification (bad signature), or a message's binding did not match."""

    code = "security_error"


_BY_CODE: dict[str, type[SdkError]] = {
    cls.code: cls
    for cls in (
        InvalidInput,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        AliasTaken,
        TooLarge,
        QuotaExceeded,
        UnsupportedVersion,
        Unavailable,
    )
}
_PROTOCOL_CODES = frozenset({"bad_json", "bad_frame", "unknown_frame", "bad_state"})


def error_from_code(
    code: str,
    message: str,
    *,
    missing: Sequence[str] | None = None,
    extra: Sequence[str] | None = None,
    retry_after: float | None = None,
    failure: str | None = None,
    details: str | None = None,
) -> SdkError:
    """The exception for a wire error code; an unknown code becomes a plain SdkError with that code."""
    if code == "stale_devices":
        return StaleDevices(message, missing=missing or (), extra=extra or ())
    if code == "cloud_api":
        return BusinessRefused(message, failure=failure or "", details=details or "")
    if code == "rate_limited":
        return RateLimited(message, retry_after=retry_after if retry_after is not None else 1.0)
    if code in _PROTOCOL_CODES:
        err: SdkError = ProtocolViolation(message)
    elif code in _BY_CODE:
        err = _BY_CODE[code](message)
    else:
        err = SdkError(message)
    err.code = code
    return err
