"""The one table from errors to the wire: HTTP status and WebSocket close code (docs/protocol.md
sections 2 and 5).

Domain errors are looked up along their MRO, so a new subclass inherits its parent's row. A close
code of None means the error is answered with an ``error`` frame and the connection stays open.
Protocol errors close the connection only when they are fatal. Anything else is a bug: 500
``internal`` with no detail (the caller logs it with ``logger.exception``), close 1011.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from passerelle.domain.errors import (
    AliasTaken,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    RateLimited,
    StaleDevices,
    TooLarge,
    Unauthorized,
    Unavailable,
)
from passerelle.proto.errors import ProtocolError
from passerelle.proto.rest.errors import ErrorBody, ErrorDetail

CLOSE_NORMAL = 1000
CLOSE_TOO_BIG = 1009
CLOSE_SERVER_ERROR = 1011
CLOSE_TRY_LATER = 1013
CLOSE_UNAUTHORIZED = 4001
CLOSE_PROTOCOL = 4002
CLOSE_RATE_LIMITED = 4008

INTERNAL = "internal"

DOMAIN_ERRORS: Mapping[type[DomainError], tuple[int, int | None]] = {
    DomainError: (400, None),
    InvalidInput: (400, None),
    Unauthorized: (401, CLOSE_UNAUTHORIZED),
    Forbidden: (403, None),
    NotFound: (404, None),
    Conflict: (409, None),
    AliasTaken: (409, None),
    StaleDevices: (409, None),
    TooLarge: (413, None),
    QuotaExceeded: (413, None),
    RateLimited: (429, None),
    Unavailable: (503, None),
}
"""DomainError subclass -> (HTTP status, WebSocket close code or None)."""

PROTOCOL_ERRORS: Mapping[str, tuple[int, int]] = {
    "bad_json": (400, CLOSE_PROTOCOL),
    "bad_frame": (400, CLOSE_PROTOCOL),
    "unknown_frame": (400, CLOSE_PROTOCOL),
    "bad_state": (400, CLOSE_PROTOCOL),
    "unsupported_version": (400, CLOSE_PROTOCOL),
    "unauthorized": (401, CLOSE_UNAUTHORIZED),
    "too_large": (413, CLOSE_TOO_BIG),
}
"""ProtocolError code -> (HTTP status, close code when the error is fatal)."""

_DEFAULT_PROTOCOL = (400, CLOSE_PROTOCOL)

HTTP_CODES: Mapping[int, str] = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
    503: "unavailable",
}
"""For Starlette's own HTTPExceptions (no route, wrong method): status -> error code."""


def _domain_row(exc: DomainError) -> tuple[int, int | None]:
    for cls in type(exc).__mro__:
        row = DOMAIN_ERRORS.get(cls)  # type: ignore[call-overload]
        if row is not None:
            return row
    raise AssertionError("DomainError is in the table")  # pragma: no cover


def http_status(exc: BaseException) -> int:
    if isinstance(exc, DomainError):
        return _domain_row(exc)[0]
    if isinstance(exc, ProtocolError):
        return PROTOCOL_ERRORS.get(exc.code, _DEFAULT_PROTOCOL)[0]
    return 500


def ws_close_code(exc: BaseException) -> int | None:
    """The close code that must end the connection after this error, or None to keep it open."""
    if isinstance(exc, DomainError):
        return _domain_row(exc)[1]
    if isinstance(exc, ProtocolError):
        return PROTOCOL_ERRORS.get(exc.code, _DEFAULT_PROTOCOL)[1] if exc.fatal else None
    return CLOSE_SERVER_ERROR


REFUSED_HELLO: Mapping[type[DomainError], int] = {
    RateLimited: CLOSE_RATE_LIMITED,
    Unavailable: CLOSE_TRY_LATER,
}
"""A connection refused before or at ``hello`` always closes: these errors with these codes, any
other with its own close code (else 4001)."""


def ws_refusal_code(exc: DomainError) -> int:
    """The close code of a WebSocket refused before or at ``hello`` because of ``exc``."""
    for kind in type(exc).__mro__:
        if kind in REFUSED_HELLO:
            return REFUSED_HELLO[kind]  # type: ignore[index]
    return ws_close_code(exc) or CLOSE_UNAUTHORIZED


def retry_after_s(exc: RateLimited) -> int:
    """Whole seconds, at least 1, as the Retry-After header needs (RFC 9110 section 10.2.3)."""
    return max(1, math.ceil(exc.retry_after_s)) if math.isfinite(exc.retry_after_s) else 3600


def error_body(exc: BaseException) -> ErrorBody:
    """``{"error": {"code", "message", ...}}``; an unexpected exception gives away nothing."""
    if not isinstance(exc, DomainError | ProtocolError):
        return ErrorBody(error=ErrorDetail(code=INTERNAL, message="internal server error"))
    return ErrorBody(
        error=ErrorDetail(
            code=exc.code,
            message=exc.message,
            retry_after=retry_after_s(exc) if isinstance(exc, RateLimited) else msgspec.UNSET,
            missing=exc.missing if isinstance(exc, StaleDevices) else msgspec.UNSET,
            extra=exc.extra if isinstance(exc, StaleDevices) else msgspec.UNSET,
        )
    )


def error_response(exc: BaseException) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(retry_after_s(exc))
    status = http_status(exc)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(
        msgspec.json.encode(error_body(exc)),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """For ``Starlette(exception_handlers={HTTPException: ...})``: unknown paths and wrong methods
    get the same error body as everything else."""
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "invalid_input" if exc.status_code < 500 else INTERNAL)
    body = ErrorBody(error=ErrorDetail(code=code, message=str(exc.detail)))
    return Response(
        msgspec.json.encode(body),
        status_code=exc.status_code,
        headers=exc.headers,
        media_type="application/json",
    )
