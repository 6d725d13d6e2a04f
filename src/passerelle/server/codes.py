"""Code senders: how one-time codes reach phones. The operator picks one with the ``code_sender``
setting: ``console`` (development) or an http(s) URL of their SMS gateway."""

from __future__ import annotations

import asyncio
import sys

import httpx

from passerelle.domain.errors import Unavailable
from passerelle.domain.ids import AppName
from passerelle.service.ports import CodeSender

HTTP_TIMEOUT_S = 10.0


class ConsoleCodeSender:
    """Prints each code to the server's standard error, for development and demos.

    This is the one place where Passerelle writes a secret out on purpose: there is no phone to send
    it to. Never configure it in production (any reader of the console can take over accounts).
    """

    async def send_code(self, *, app: AppName, phone: str, code: str) -> None:
        line = f"[passerelle] code for {app}:{phone}: {code}\n"
        await asyncio.to_thread(_write_stderr, line)


def _write_stderr(line: str) -> None:
    sys.stderr.write(line)
    sys.stderr.flush()


class HttpCodeSender:
    """POSTs ``{"app", "phone", "code"}`` as JSON to the operator's gateway; any 2xx is success."""

    def __init__(self, url: str, client: httpx.AsyncClient, *, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        self._url = url
        self._client = client
        self._timeout_s = timeout_s

    async def send_code(self, *, app: AppName, phone: str, code: str) -> None:
        try:
            response = await self._client.post(
                self._url, json={"app": app, "phone": phone, "code": code}, timeout=self._timeout_s
            )
        except httpx.HTTPError as exc:
            # The exception's text may hold the request; it goes nowhere near a log.
            raise Unavailable("the code could not be sent; try again later") from exc
        if not response.is_success:
            raise Unavailable("the code could not be sent; try again later")


def code_sender_from_setting(setting: str, client: httpx.AsyncClient) -> CodeSender:
    """``console`` or an http(s) URL (see ``Settings.code_sender``); ValueError otherwise."""
    if setting == "console":
        return ConsoleCodeSender()
    if setting.startswith(("http://", "https://")):
        return HttpCodeSender(setting, client)
    raise ValueError(f"code_sender must be 'console' or an http(s) URL, not {setting!r}")
