"""The REST half of the transport (docs/protocol.md §4): one method per endpoint, typed answers.

Errors come back as SdkError subclasses (``error_from_code``). When an authenticated call is refused
with ``unauthorized`` and a ``relogin`` hook is set, the hook gets a fresh token (a signed
challenge, §4.5) and the call is retried once. Tokens travel in the Authorization header only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import quote, urlencode

import httpx
import msgspec

from passerelle.proto.rest import accounts, conversations, keys
from passerelle.proto.rest.business import EndpointGrant
from passerelle.sdk import schema
from passerelle.sdk.errors import SdkError, Unauthorized, Unavailable, error_from_code

T = TypeVar("T")
Body = Mapping[str, Any] | msgspec.Struct
"""A request body: a request Struct of ``passerelle.proto.rest`` (or, for older callers, a mapping)."""
DEFAULT_TIMEOUT_S = 15.0


def _seg(value: str) -> str:
    return quote(value, safe="")


@runtime_checkable
class DirectCalls(Protocol):
    """A transport that also takes a JSON call without httpx's request and response objects: a
    hosted business endpoint's, which hands the call to the server's own ASGI app in process
    (``server.endpoint.in_process``). Answers (status, headers, body)."""

    async def direct(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]: ...


class RestApi:
    """The server's REST API for one device. Owns its httpx client unless one is given."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """``transport``: how the calls reach the server when this owns its client (None: HTTP to
        ``base_url``; a hosted business endpoint gives an in-process one, ``server.endpoint.hosted``)."""
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.relogin: Callable[[], Awaitable[str]] | None = None
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout_s, transport=transport)
        self._direct = transport if http is None and isinstance(transport, DirectCalls) else None

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        kind: type[T] | None,
        *,
        body: Body | None = None,
        params: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> T | None:
        try:
            return await self._once(method, path, kind, body=body, params=params, auth=auth)
        except Unauthorized:
            if not auth or self.relogin is None:
                raise
            self.token = await self.relogin()
            return await self._once(method, path, kind, body=body, params=params, auth=auth)

    async def _once(
        self,
        method: str,
        path: str,
        kind: type[T] | None,
        *,
        body: Body | None,
        params: Mapping[str, str] | None,
        auth: bool,
    ) -> T | None:
        headers = {"accept": "application/json"}
        if auth:
            if not self.token:
                raise Unauthorized("this device has no token; log in first")
            headers["authorization"] = f"Bearer {self.token}"
        content = None
        if body is not None:
            content = schema.encode(body)
            headers["content-type"] = "application/json"
        if self._direct is not None:  # in process: the same app, without httpx's objects
            url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
            status, answer_headers, data = await self._direct.direct(method, url, headers, content or b"")
            if status >= 400:
                raise _error(httpx.Response(status, headers=answer_headers, content=data))
        else:
            try:
                response = await self._http.request(
                    method, self.base_url + path, content=content, params=params, headers=headers
                )
            except httpx.TransportError as exc:
                raise Unavailable(f"cannot reach the server: {type(exc).__name__}") from exc
            if response.status_code >= 400:
                raise _error(response)
            data = response.content
        if kind is None:
            return None
        try:
            return schema.decode(data, kind)
        except msgspec.MsgspecError as exc:
            raise SdkError(f"unexpected answer from {method} {path}: {exc}") from exc

    async def raw(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """An authenticated request whose body or answer is not (only) JSON: media uploads and
        downloads (§8). Errors raise SdkError like every call, after one re-login on ``unauthorized``."""
        for attempt in range(2):
            if not self.token:
                raise Unauthorized("this device has no token; log in first")
            sent = {**(headers or {}), "authorization": f"Bearer {self.token}"}
            try:
                response = await self._http.request(
                    method, self.base_url + path, content=content, headers=sent
                )
            except httpx.TransportError as exc:
                raise Unavailable(f"cannot reach the server: {type(exc).__name__}") from exc
            if response.status_code == 401 and attempt == 0 and self.relogin is not None:
                self.token = await self.relogin()
                continue
            if response.status_code >= 400:
                raise _error(response)
            return response
        raise AssertionError("unreachable")

    async def _must(self, method: str, path: str, kind: type[T], **kw: Any) -> T:
        result = await self._call(method, path, kind, **kw)
        assert result is not None
        return result

    async def call_json(
        self,
        method: str,
        path: str,
        kind: type[T],
        *,
        body: Body | None = None,
        params: Mapping[str, str] | None = None,
    ) -> T:
        """Any authenticated endpoint that answers JSON (the feature modules' own, e.g. §9)."""
        return await self._must(method, path, kind, body=body, params=params)

    async def call_empty(self, method: str, path: str, *, body: Body | None = None) -> None:
        """Any authenticated endpoint whose answer has no body worth reading (204)."""
        await self._call(method, path, None, body=body)

    # --- without a token ----------------------------------------------------------------------

    async def request_code(self, app: str, phone: str) -> int:
        body = accounts.CodeRequest(app=app, phone=phone)
        return (await self._must("POST", "/v1/codes", schema.CodeSent, body=body, auth=False)).expires_in

    async def register(self, body: Body) -> schema.DeviceGrant:
        return await self._must("POST", "/v1/accounts", schema.DeviceGrant, body=body, auth=False)

    async def add_device(self, body: Body) -> schema.DeviceGrant:
        return await self._must("POST", "/v1/devices", schema.DeviceGrant, body=body, auth=False)

    async def enrol_endpoint(self, body: Body) -> EndpointGrant:
        """A business endpoint's device, with an enrolment token (docs/business.md section 4)."""
        return await self._must("POST", "/v1/business-endpoints", EndpointGrant, body=body, auth=False)

    async def challenge(self, device_id: str) -> str:
        body = accounts.ChallengeRequest(device_id=device_id)
        return (
            await self._must("POST", "/v1/auth/challenge", schema.Challenge, body=body, auth=False)
        ).challenge

    async def token_for(self, device_id: str, challenge: str, signature: str) -> schema.DeviceGrant:
        body = accounts.TokenRequest(device_id=device_id, challenge=challenge, signature=signature)
        return await self._must("POST", "/v1/auth/token", schema.DeviceGrant, body=body, auth=False)

    # --- with the device's token --------------------------------------------------------------

    async def me(self) -> schema.Me:
        return await self._must("GET", "/v1/me", schema.Me)

    async def update_settings(self, changes: Body) -> schema.AccountSettings:
        return await self._must("PATCH", "/v1/me/settings", schema.AccountSettings, body=changes)

    async def remove_device(self, device_id: str) -> None:
        await self._call("DELETE", f"/v1/devices/{_seg(device_id)}", None)

    async def upload_keys(
        self, one_time_keys: list[dict[str, str]], fallback_key: dict[str, str] | None = None
    ) -> int:
        body = keys.UploadKeys(
            one_time_keys=[keys.SignedKey(**k) for k in one_time_keys],
            fallback_key=None if fallback_key is None else keys.SignedKey(**fallback_key),
        )
        return (await self._must("POST", "/v1/keys", schema.KeyCount, body=body)).otk_count

    async def claim(self, account_id: str, device_ids: Sequence[str] | None = None) -> schema.Claim:
        body = keys.ClaimRequest(
            account_id=account_id, device_ids=None if device_ids is None else list(device_ids)
        )
        return await self._must("POST", "/v1/keys/claim", schema.Claim, body=body)

    async def devices(self, account_id: str) -> schema.DeviceList:
        return await self._must("GET", f"/v1/accounts/{_seg(account_id)}/devices", schema.DeviceList)

    async def lookup(self, address: str) -> schema.Found:
        return await self._must("GET", "/v1/lookup", schema.Found, params={"address": address})

    async def profile(self, account_id: str) -> schema.Found:
        return await self._must("GET", f"/v1/accounts/{_seg(account_id)}", schema.Found)

    async def open_direct(self, account_id: str) -> schema.ConversationInfo:
        return await self._must(
            "POST",
            "/v1/conversations",
            schema.ConversationInfo,
            body=conversations.OpenDirect(with_=account_id),
        )

    async def conversations(self) -> list[schema.ConversationInfo]:
        return (await self._must("GET", "/v1/conversations", schema.Conversations)).conversations

    async def set_timer(self, conv: str, seconds: int) -> None:
        body = conversations.SetTimer(timer=seconds)
        await self._call("PUT", f"/v1/conversations/{_seg(conv)}/timer", None, body=body)


def _error(response: httpx.Response) -> SdkError:
    try:
        body = schema.decode(response.content, schema.ErrorBody)
    except msgspec.MsgspecError:
        if response.status_code == 401:
            return Unauthorized(f"HTTP {response.status_code}")
        if response.status_code >= 500:
            return Unavailable(f"HTTP {response.status_code}")
        return SdkError(f"HTTP {response.status_code}")
    detail = body.error
    retry_after = None if isinstance(detail.retry_after, msgspec.UnsetType) else detail.retry_after
    if retry_after is None and "retry-after" in response.headers:
        try:
            retry_after = float(response.headers["retry-after"])
        except ValueError:
            retry_after = None
    return error_from_code(
        detail.code,
        detail.message,
        missing=None if isinstance(detail.missing, msgspec.UnsetType) else detail.missing,
        extra=None if isinstance(detail.extra, msgspec.UnsetType) else detail.extra,
        retry_after=retry_after,
    )
