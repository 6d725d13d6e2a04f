"""The bot's side of the Cloud API (docs/bots.md, "Replies"): the HTTP calls it makes to its
business endpoint — a self-run ``passerelle business-endpoint run`` or the server hosting it — with
the business's token, the same calls (and bodies) a pywa bot makes, plus the hand-off call.

Limits are checked here before a call, so that a bot author sees a clear ``ValueError`` at the line
that built the message: at most 3 reply buttons (titles ≤ 20 characters), at most 10 list rows in
at most 10 sections, ids ≤ 256 characters. The endpoint checks them again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

GRAPH_VERSION = "v26.0"
MAX_BUTTONS = 3
MAX_ROWS = 10
MAX_SECTIONS = 10
MAX_BUTTON_TITLE = 20
MAX_ROW_TITLE = 24
MAX_ID = 256

Option = tuple[str, str] | tuple[str, str, str]
"""A button or row: ``(id, title)``, or ``(id, title, description)`` for a list row."""


class CloudError(Exception):
    """The endpoint refused a call: the Cloud API's ``error`` object."""

    def __init__(self, status: int, error: Mapping[str, Any]) -> None:
        self.status = status
        self.code = int(error.get("code", 0) or 0)
        self.error = dict(error)
        super().__init__(f"{status} {self.code}: {error.get('message', '')}")


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    rows: Sequence[Option]


def _check_id(kind: str, choice: str) -> None:
    if not choice or len(choice) > MAX_ID:
        raise ValueError(f"a {kind} id must have 1 to {MAX_ID} characters")


def buttons_body(
    text: str, options: Sequence[Option], *, header: str | None, footer: str | None
) -> dict[str, Any]:
    if not 1 <= len(options) <= MAX_BUTTONS:
        raise ValueError(f"reply buttons: 1 to {MAX_BUTTONS}, not {len(options)}")
    buttons = []
    for option in options:
        _check_id("button", option[0])
        if len(option[1]) > MAX_BUTTON_TITLE:
            raise ValueError(f"a button title has at most {MAX_BUTTON_TITLE} characters: {option[1]!r}")
        buttons.append({"type": "reply", "reply": {"id": option[0], "title": option[1]}})
    return _interactive("button", text, {"buttons": buttons}, header=header, footer=footer)


def list_body(
    text: str, button: str, sections: Sequence[Section], *, header: str | None, footer: str | None
) -> dict[str, Any]:
    rows = sum(len(s.rows) for s in sections)
    if not 1 <= len(sections) <= MAX_SECTIONS or not 1 <= rows <= MAX_ROWS:
        raise ValueError(f"a list: 1 to {MAX_SECTIONS} sections and 1 to {MAX_ROWS} rows in all")
    if len(button) > MAX_BUTTON_TITLE:
        raise ValueError(f"a list's button has at most {MAX_BUTTON_TITLE} characters")
    built = []
    for section in sections:
        items = []
        for row in section.rows:
            _check_id("row", row[0])
            if len(row[1]) > MAX_ROW_TITLE:
                raise ValueError(f"a row title has at most {MAX_ROW_TITLE} characters: {row[1]!r}")
            item = {"id": row[0], "title": row[1]}
            if len(row) == 3:
                item["description"] = row[2]
            items.append(item)
        built.append({"title": section.title, "rows": items})
    return _interactive("list", text, {"button": button, "sections": built}, header=header, footer=footer)


def cta_body(text: str, label: str, url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise ValueError("a call-to-action link is an http(s) URL")
    action = {"name": "cta_url", "parameters": {"display_text": label, "url": url}}
    return _interactive("cta_url", text, action, header=None, footer=None)


def _interactive(
    kind: str, text: str, action: dict[str, Any], *, header: str | None, footer: str | None
) -> dict[str, Any]:
    item: dict[str, Any] = {"type": kind, "body": {"text": text}, "action": action}
    if header:
        item["header"] = {"type": "text", "text": header}
    if footer:
        item["footer"] = {"text": footer}
    return {"type": "interactive", "interactive": item}


class CloudApi:
    """Calls to one number of the business (``phone_number_id``) at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        *,
        phone_number_id: str,
        token: str,
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http = http or httpx.AsyncClient(timeout=timeout_s)
        self._own_http = http is None

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    def _url(self, edge: str, number: str | None = None) -> str:
        return f"{self.base_url}/{GRAPH_VERSION}/{number or self.phone_number_id}/{edge}"

    async def call(
        self, method: str, edge: str, *, json: Any = None, number: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        answer = await self._http.request(
            method, self._url(edge, number), json=json, headers=self._headers, **kw
        )
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code >= 400 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise CloudError(
                answer.status_code, error if isinstance(error, dict) else {"message": answer.text[:200]}
            )
        return body

    async def send(
        self, to: str, message: dict[str, Any], *, reply_to: str | None = None, number: str | None = None
    ) -> str:
        """Send ``message`` (``{"type": …, <type>: …}``) to the customer ``to`` (a ``user_id`` or
        ``wa_id``); the new message's id."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        body["recipient" if "." in to else "to"] = to
        if reply_to:
            body["context"] = {"message_id": reply_to}
        body.update(message)
        answer = await self.call("POST", "messages", json=body, number=number)
        return str(answer["messages"][0]["id"])

    async def mark_read(self, message_id: str, *, typing: bool = False, number: str | None = None) -> None:
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        if typing:
            body["typing_indicator"] = {"type": "text"}
        await self.call("POST", "messages", json=body, number=number)

    async def upload(
        self, data: bytes, mime_type: str, *, filename: str = "file", number: str | None = None
    ) -> str:
        """Upload a media to the endpoint (which encrypts it); its id, to send by ``id``."""
        files = {"file": (filename, data, mime_type)}
        form = {"messaging_product": "whatsapp", "type": mime_type}
        answer = await self.call("POST", "media", files=files, data=form, number=number)
        return str(answer["id"])

    async def hand_off(
        self, user_id: str, *, summary: str, reason: str, number: str | None = None
    ) -> dict[str, Any]:
        """Ask for a person to take the conversation (``POST /{phone_number_id}/handoffs``, a
        Passerelle call): the open hand-off (``handoff_id``, ``status``)."""
        body = {"user_id": user_id, "summary": summary, "reason": reason}
        return await self.call("POST", "handoffs", json=body, number=number)
