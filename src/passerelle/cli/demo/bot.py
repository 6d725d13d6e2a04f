"""The bike shop's bot in ``passerelle demo business``: a small WhatsApp Cloud API bot, written the
way any Cloud API bot is (signed webhooks in, ``POST /{phone_number_id}/messages`` out) and knowing
nothing of Passerelle but the base URL it is pointed at (the business's self-run endpoint).

It receives webhooks on its own web server (Starlette on uvicorn, 127.0.0.1 and a free port),
answers Meta's ``GET`` handshake with its verify token, checks ``X-Hub-Signature-256`` with its app
secret (401 without, 403 when wrong), acknowledges at once and handles the event after, dropping an
event it already handled (webhooks come at least once). Its conversation: any text gets a read mark
and a menu of reply buttons; "rent" gets a list of bikes; a bike gets a reservation and a 🚲 on the
person's choice; "repair" and "hours" get a text.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

GREETING = "Bonjour {name} ! Que puis-je pour vous ?"
MENU = {"rent": "Louer un vélo", "repair": "Réparation", "hours": "Horaires"}
BIKES_TEXT = "Quel vélo vous faut-il pour demain ?"
BIKES = {
    "city": ("Vélo de ville", "12 € la journée"),
    "cargo": ("Vélo cargo", "25 € la journée"),
    "ebike": ("Vélo électrique", "20 € la journée"),
}
BOOKED = "C'est réservé : {bike} demain à 9 h, 12 rue des Cyclistes. À demain {name} !"
REPAIR = "Déposez-le à l'atelier, 12 rue des Cyclistes : réparé en 24 h."
HOURS = "Ouvert du mardi au samedi, de 9 h à 19 h."
REACTION = "🚲"


def bot_texts() -> list[tuple[str, str]]:
    """(what, text) for what the bot writes to everyone, for the demo's final search."""
    titles = list(MENU.values()) + [title for title, _ in BIKES.values()]
    texts = [GREETING.split(" {name}")[0], BIKES_TEXT, REPAIR, HOURS]
    return [("message", text) for text in texts] + [("button title", title) for title in titles]


@dataclass
class Heard:
    """One thing the bot received, as the demo shows it: who (the name and the per-business id the
    webhook carried) and what."""

    name: str
    user_id: str
    what: str


@dataclass
class VeloBot:
    phone_number_id: str
    token: str
    verify_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    app_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    base_url: str = ""
    """Where its Cloud API calls go: set once the business's endpoint listens."""
    heard: list[Heard] = field(default_factory=list)
    """Everything received, in order; ``wait_heard`` takes each once."""
    failures: list[str] = field(default_factory=list)
    """What went wrong while handling an event (the demo fails with it)."""
    refused_posts: int = 0
    _seen: set[str] = field(default_factory=set)
    _taken: set[int] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _server: uvicorn.Server | None = None
    _serving: asyncio.Task[None] | None = None
    _url: str = ""
    _http: httpx.AsyncClient | None = None

    @property
    def webhook_url(self) -> str:
        return self._url

    # --- its web server --------------------------------------------------------------------------------

    async def start(self) -> None:
        sock = socket.create_server(("127.0.0.1", 0))
        self._url = f"http://127.0.0.1:{sock.getsockname()[1]}/webhook"
        app = Starlette(
            routes=[
                Route("/webhook", self._challenge, methods=["GET"]),
                Route("/webhook", self._webhook, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._serving = asyncio.create_task(self._server.serve(sockets=[sock]), name="the bot")

    async def stop(self) -> None:
        for task in list(self._tasks):
            await task
        if self._http is not None:
            await self._http.aclose()
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            await self._serving

    async def wait_heard(self, what: str) -> Heard:
        """The first thing received that was ``what`` and not taken yet (waiting for it); a failure
        raises."""
        while True:
            if self.failures:
                raise RuntimeError(self.failures[0])
            for index, heard in enumerate(self.heard):
                if index not in self._taken and heard.what == what:
                    self._taken.add(index)
                    return heard
            self._changed.clear()
            await self._changed.wait()

    async def _challenge(self, request: Request) -> Response:
        params = request.query_params
        if params.get("hub.verify_token") != self.verify_token:
            return PlainTextResponse("Forbidden", status_code=403)
        return PlainTextResponse(params.get("hub.challenge", ""))

    async def _webhook(self, request: Request) -> Response:
        body = await request.body()
        given = request.headers.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        if not given or not hmac.compare_digest(given, expected):
            self.refused_posts += 1
            return PlainTextResponse("Forbidden", status_code=401 if not given else 403)
        task = asyncio.create_task(self._handle(body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return PlainTextResponse("OK")

    # --- its conversation --------------------------------------------------------------------------------

    async def _handle(self, body: bytes) -> None:
        try:
            value = json.loads(body)["entry"][0]["changes"][0]["value"]
            if value.get("messages"):
                await self._message(value["contacts"][0], value["messages"][0])
        except Exception as exc:  # shown by the demo, which then fails
            self.failures.append(f"the bot failed on a webhook: {exc!r}")
        finally:
            self._changed.set()

    async def _message(self, contact: dict[str, Any], message: dict[str, Any]) -> None:
        if message["id"] in self._seen:  # a webhook delivered again: already handled
            return
        self._seen.add(message["id"])
        name, person = contact["profile"]["name"], contact["user_id"]
        await self._post({"status": "read", "message_id": message["id"]})
        if message["type"] == "text":
            self.heard.append(Heard(name, person, f"“{message['text']['body']}”"))
            await self._send(person, self._menu(name))
        elif message["type"] == "interactive":
            reply = message["interactive"]
            choice = reply.get("button_reply") or reply.get("list_reply") or {}
            self.heard.append(Heard(name, person, f"a tap on [{choice.get('title', '')}]"))
            await self._choice(person, name, message["id"], str(choice.get("id", "")))

    async def _choice(self, person: str, name: str, message_id: str, choice: str) -> None:
        if choice == "rent":
            await self._send(person, self._bikes())
        elif choice in BIKES:
            await self._send(
                person, {"type": "reaction", "reaction": {"message_id": message_id, "emoji": REACTION}}
            )
            booked = BOOKED.format(bike=BIKES[choice][0], name=name)
            await self._send(person, {"type": "text", "text": {"body": booked}})
        elif choice in ("repair", "hours"):
            await self._send(
                person, {"type": "text", "text": {"body": REPAIR if choice == "repair" else HOURS}}
            )

    def _menu(self, name: str) -> dict[str, Any]:
        buttons = [{"type": "reply", "reply": {"id": key, "title": title}} for key, title in MENU.items()]
        return {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "header": {"type": "text", "text": "Vélo Paris"},
                "body": {"text": GREETING.format(name=name)},
                "footer": {"text": "Réponse immédiate"},
                "action": {"buttons": buttons},
            },
        }

    def _bikes(self) -> dict[str, Any]:
        rows = [{"id": key, "title": title, "description": price} for key, (title, price) in BIKES.items()]
        return {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": BIKES_TEXT},
                "action": {"button": "Voir les vélos", "sections": [{"title": "Nos vélos", "rows": rows}]},
            },
        }

    async def _send(self, recipient: str, message: dict[str, Any]) -> None:
        await self._post({"recipient_type": "individual", "recipient": recipient, **message})

    async def _post(self, body: dict[str, Any]) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.base_url + "/v26.0",
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=10.0,
            )
        answer = await self._http.post(
            f"/{self.phone_number_id}/messages", json={"messaging_product": "whatsapp", **body}
        )
        if answer.status_code != 200:
            self.failures.append(f"the Cloud API refused the bot's message: {answer.text}")
