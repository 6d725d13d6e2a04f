"""The error table, the body limit on its own, the code senders and the system ids."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from starlette.types import Message, Receive, Scope, Send

from passerelle.domain.errors import (
    AliasTaken,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    StaleDevices,
    TooLarge,
    Unauthorized,
    Unavailable,
)
from passerelle.domain.ids import AppName
from passerelle.proto.errors import RemoteProtocolError
from passerelle.server.body_limit import BodyLimit
from passerelle.server.codes import ConsoleCodeSender, HttpCodeSender, code_sender_from_setting
from passerelle.server.errors import error_body, error_response, http_status, ws_close_code
from passerelle.server.system import RandomIds, SystemClock


class Blocked(Forbidden):
    """A subclass the table does not name: it inherits its parent's row."""

    code = "blocked"


@pytest.mark.parametrize(
    ("exc", "status", "close"),
    [
        (InvalidInput("x"), 400, None),
        (Unauthorized(), 401, 4001),
        (Forbidden(), 403, None),
        (Blocked(), 403, None),
        (NotFound(), 404, None),
        (Conflict(), 409, None),
        (AliasTaken(), 409, None),
        (StaleDevices(missing=["d1"], extra=[]), 409, None),
        (TooLarge(), 413, None),
        (RateLimited(retry_after_s=0.2), 429, None),
        (Unavailable(), 503, None),
        (DomainError("odd"), 400, None),
        (RemoteProtocolError("bad_frame", "x"), 400, None),
        (RemoteProtocolError("bad_frame", "x", fatal=True), 400, 4002),
        (RemoteProtocolError("unsupported_version", "x", fatal=True), 400, 4002),
        (RemoteProtocolError("unauthorized", "x", fatal=True), 401, 4001),
        (RemoteProtocolError("too_large", "x", fatal=True), 413, 1009),
        (RuntimeError("secret detail"), 500, 1011),
    ],
)
def test_the_table(exc: Exception, status: int, close: int | None) -> None:
    assert http_status(exc) == status
    assert ws_close_code(exc) == close


def wire_error(exc: Exception) -> Any:
    """The error body as it goes on the wire."""
    return json.loads(msgspec.json.encode(error_body(exc)))


def test_error_bodies() -> None:
    assert wire_error(NotFound("no such device")) == {
        "error": {"code": "not_found", "message": "no such device"}
    }
    assert wire_error(RateLimited(retry_after_s=0.2)) == {
        "error": {"code": "rate_limited", "message": "too many requests, slow down", "retry_after": 1}
    }
    stale = wire_error(StaleDevices(missing=["d1"], extra=["d2"]))["error"]
    assert (stale["missing"], stale["extra"]) == (["d1"], ["d2"])


def test_an_unexpected_error_gives_nothing_away() -> None:
    response = error_response(RuntimeError("password=hunter2"))
    assert response.status_code == 500
    assert json.loads(bytes(response.body)) == {
        "error": {"code": "internal", "message": "internal server error"}
    }


def test_rate_limited_has_retry_after() -> None:
    response = error_response(RateLimited(retry_after_s=12.1))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "13"


# --- the body limit ------------------------------------------------------------------------------


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_bodies_up_to_the_limit_pass_whole() -> None:
    app = BodyLimit(echo_app, max_bytes=10)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.post("/", content=b"0123456789")
        assert (response.status_code, response.content) == (200, b"0123456789")

        async def chunks() -> AsyncIterator[bytes]:
            for part in (b"01234", b"56789"):
                yield part

        response = await http.post("/", content=chunks())
        assert (response.status_code, response.content) == (200, b"0123456789")
        response = await http.post("/", content=b"0123456789A")
        assert response.status_code == 413
        assert msgspec.json.decode(response.content)["error"]["code"] == "too_large"


async def test_exempt_paths_and_other_scopes_pass_through() -> None:
    app = BodyLimit(echo_app, max_bytes=1, exempt_prefixes=("/v1/blobs",))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        assert (await http.post("/v1/blobs/x", content=b"big body")).status_code == 200
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        raise AssertionError("not read")

    async def ignore(message: Message) -> None:
        raise AssertionError("not sent")

    await BodyLimit(inner, max_bytes=0)({"type": "lifespan"}, nothing, ignore)
    assert seen == ["lifespan"]


# --- code senders --------------------------------------------------------------------------------


async def test_the_http_code_sender_posts_json() -> None:
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(gateway)) as client:
        sender = code_sender_from_setting("https://sms.example/send", client)
        assert isinstance(sender, HttpCodeSender)
        await sender.send_code(app=AppName("chat"), phone="+33612345678", code="123456")
    [request] = seen
    assert request.url == "https://sms.example/send"
    assert json.loads(request.content) == {"app": "chat", "phone": "+33612345678", "code": "123456"}


@pytest.mark.parametrize("failure", ["status", "network"])
async def test_a_failing_gateway_is_unavailable(failure: str) -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        if failure == "network":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(500)

    async with httpx.AsyncClient(transport=httpx.MockTransport(gateway)) as client:
        sender = HttpCodeSender("https://sms.example/send", client)
        with pytest.raises(Unavailable) as caught:
            await sender.send_code(app=AppName("chat"), phone="+33612345678", code="123456")
    assert "123456" not in str(caught.value)


async def test_the_console_sender_prints_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    async with httpx.AsyncClient() as client:
        sender = code_sender_from_setting("console", client)
    assert isinstance(sender, ConsoleCodeSender)
    await sender.send_code(app=AppName("chat"), phone="+33612345678", code="123456")
    assert capsys.readouterr().err == "[passerelle] code for chat:+33612345678: 123456\n"


async def test_an_unknown_code_sender_setting_is_refused() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(ValueError, match="code_sender"):
            code_sender_from_setting("carrier-pigeon", client)


# --- the system clock and ids --------------------------------------------------------------------


def test_system_ids() -> None:
    ids = RandomIds()
    assert re.fullmatch(r"a_[a-z0-9]{22}", ids.account_id())
    assert re.fullmatch(r"d[a-z0-9]{22}", ids.device_id())
    assert len({ids.token() for _ in range(100)}) == 100
    assert len(ids.token()) >= 43
    code = ids.code(6)
    assert len(code) == 6
    assert code.isdigit()
    clock = SystemClock()
    assert clock.now_ms() > 1_600_000_000_000
    assert clock.monotonic() <= clock.monotonic()
