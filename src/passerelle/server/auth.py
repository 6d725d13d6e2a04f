"""The one authentication path of the edges: a bearer token to the caller (account and device).

REST handlers call ``request_caller`` (the token of ``Authorization: Bearer``); the WebSocket gateway
calls ``authenticate`` with the token of ``hello``. Both go through the accounts service
(``AccountService.caller``): one hash, one indexed token read, one account read; no edge reads the
store itself. Every failure is ``Unauthorized`` (401 on REST; an ``error`` frame and 4001 on the
WebSocket), whatever was wrong.
"""

from __future__ import annotations

import hmac
from typing import Protocol

from starlette.requests import Request

from passerelle.domain.errors import Unauthorized
from passerelle.proto.openapi import Auth
from passerelle.server.declared import check_auth
from passerelle.service.records import Caller


class Callers(Protocol):
    """What the edges need to authenticate (``passerelle.service.accounts.accounts.AccountService``)."""

    async def caller(self, token: str) -> Caller: ...


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer <token>`` (the scheme is case-insensitive, RFC 9110)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send the token as 'Authorization: Bearer <token>'")
    return token.strip()


async def authenticate(callers: Callers, token: str) -> Caller:
    """The caller presenting ``token``; raises Unauthorized."""
    return await callers.caller(token)


async def request_caller(request: Request, callers: Callers) -> Caller:
    """The caller of an authenticated REST request; raises Unauthorized."""
    check_auth(request, Auth.ACCOUNT)
    return await authenticate(callers, bearer_token(request))


def require_operator(request: Request, admin_token: str, *, api: str) -> None:
    """The operator's APIs (moderation, businesses): ``Authorization: Bearer <admin_token>``, compared
    in constant time; an empty ``admin_token`` turns them off. Raises Unauthorized naming ``api``."""
    check_auth(request, Auth.ADMIN)
    given = bearer_token(request).encode()
    if not admin_token or not hmac.compare_digest(given, admin_token.encode()):
        raise Unauthorized(f"the {api} API needs the operator's admin token")
