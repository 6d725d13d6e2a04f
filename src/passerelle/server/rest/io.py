"""What every REST endpoint shares: the services it calls, reading a JSON body into its Struct of
``passerelle.proto.rest``, bearer authentication, the client key for rate limits, JSON answers (the
answer Structs of ``passerelle.proto.rest``), and turning errors into the error body of
docs/protocol.md section 2."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from passerelle.domain.apps import AppRegistry
from passerelle.domain.errors import DomainError, InvalidInput
from passerelle.domain.limits import Limits
from passerelle.proto.errors import ProtocolError
from passerelle.server.auth import request_caller
from passerelle.server.declared import check_body
from passerelle.server.errors import error_response
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.accounts.keys import KeyService
from passerelle.service.directory.directory import Directory
from passerelle.service.limiter import ClientKey, client_key_of
from passerelle.service.records import Caller

logger = logging.getLogger("passerelle.server.rest")

StructT = TypeVar("StructT", bound=msgspec.Struct)
SelfT = TypeVar("SelfT")

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True, kw_only=True)
class RestServices:
    """What the REST endpoints of accounts, keys and the directory need (built by server.app)."""

    accounts: AccountService
    keys: KeyService
    directory: Directory
    apps: AppRegistry
    limits: Limits
    stop_words: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """The deployment's business stop words, published with the apps."""


def json_response(body: msgspec.Struct, status: int = 200) -> Response:
    """An answer Struct of ``passerelle.proto.rest``, as JSON."""
    return Response(_encode(body), status_code=status, media_type="application/json")


_decoders: dict[type[msgspec.Struct], msgspec.json.Decoder[Any]] = {}


def _decoder(kind: type[StructT]) -> msgspec.json.Decoder[StructT]:
    """One typed decoder per request Struct, built on first use."""
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    return decoder


async def read_body(request: Request, kind: type[StructT]) -> StructT:
    """Decode the JSON body into ``kind`` (a request Struct of ``passerelle.proto.rest``);
    InvalidInput says what is wrong and where."""
    check_body(request, kind)
    raw = await request.body()
    try:
        decoded: StructT = _decoder(kind).decode(raw)
        return decoded
    except msgspec.ValidationError as exc:
        raise InvalidInput(str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the body is not a JSON object: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInput("the body is not a JSON object: nested too deeply") from exc


def client_key(request: Request) -> ClientKey:
    """The peer's address (behind a proxy, uvicorn's --proxy-headers makes it the real client's)."""
    return client_key_of(request.client.host if request.client is not None else None)


async def authenticated(request: Request, services: RestServices) -> Caller:
    return await request_caller(request, services.accounts)


def endpoint(
    handler: Callable[[SelfT, Request], Awaitable[Response]],
) -> Callable[[SelfT, Request], Awaitable[Response]]:
    """Answer every error of a request handler with the error body (the request is the boundary)."""

    async def wrapped(self: SelfT, request: Request) -> Response:
        try:
            return await handler(self, request)
        except (DomainError, ProtocolError) as exc:
            return error_response(exc)
        except Exception as exc:
            logger.exception("%s %s failed", request.method, request.url.path)
            return error_response(exc)

    wrapped.__name__ = wrapped.__qualname__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped
