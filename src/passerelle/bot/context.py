"""``Context``: what a handler gets (docs/bots.md, "Handlers"): the update, the customer, their
conversation state (saved when the handler returns), and replies addressed to that customer through
the number the update came by."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from passerelle.bot.cloud import (
    MAX_BUTTONS,
    CloudApi,
    Option,
    Section,
    buttons_body,
    cta_body,
    list_body,
)
from passerelle.bot.state import State
from passerelle.bot.updates import Choice, Customer, Message, Order, Update

if TYPE_CHECKING:
    from passerelle.bot.app import Bot


class Context:
    def __init__(self, bot: Bot, update: Update, state: State, api: CloudApi) -> None:
        self.bot = bot
        self.update = update
        self.state = state
        self.api = api
        self.replied: list[str] = []
        """The ids of the messages this handler sent."""

    @property
    def customer(self) -> Customer:
        return self.update.customer

    @property
    def text(self) -> str:
        """The message's text (a tap's title), or ''."""
        if isinstance(self.update, Message):
            return self.update.text
        if isinstance(self.update, Choice):
            return self.update.title
        if isinstance(self.update, Order):
            return self.update.text
        return ""

    @property
    def message_id(self) -> str | None:
        """The id of the customer's message or tap (None for a status)."""
        found = getattr(self.update, "id", None)
        return str(found) if isinstance(self.update, Message | Choice | Order) and found else None

    async def _send(
        self, message: dict[str, Any], *, quote: bool = False, reply_to: str | None = None
    ) -> str:
        target = reply_to or (self.message_id if quote else None)
        sent = await self.api.send(
            self.customer.user_id, message, reply_to=target, number=self.update.phone_number_id
        )
        self.replied.append(sent)
        return sent

    async def reply(self, text: str, *, quote: bool = False, preview_url: bool = False) -> str:
        """A text to the customer (``quote=True``: in reply to their message)."""
        return await self._send(
            {"type": "text", "text": {"body": text, "preview_url": preview_url}}, quote=quote
        )

    async def reply_buttons(
        self,
        text: str,
        options: Sequence[Option] | Mapping[str, str],
        *,
        header: str | None = None,
        footer: str | None = None,
        quote: bool = False,
    ) -> str:
        """Up to 3 reply buttons (``[(id, title)]`` or ``{id: title}``); a tap reaches ``on_choice``.
        An app that shows no buttons shows them numbered, and a typed "2" is the second (docs/bots.md,
        "Fallback")."""
        listed = list(options.items()) if isinstance(options, Mapping) else list(options)
        return await self._send(buttons_body(text, listed, header=header, footer=footer), quote=quote)

    async def reply_list(
        self,
        text: str,
        button: str,
        sections: Sequence[Section] | Sequence[Option],
        *,
        header: str | None = None,
        footer: str | None = None,
        quote: bool = False,
    ) -> str:
        """A list: up to 10 rows, in sections (``Section``) or as plain rows (one untitled section)."""
        if sections and not isinstance(sections[0], Section):
            built = [Section("", [s for s in sections if not isinstance(s, Section)])]
        else:
            built = [s for s in sections if isinstance(s, Section)]
        return await self._send(list_body(text, button, built, header=header, footer=footer), quote=quote)

    async def reply_quick(self, text: str, answers: Sequence[str], *, quote: bool = False) -> str:
        """Quick replies: suggested answers, each its own id (3 or fewer as buttons, more as a list
        of up to 10). A tap reaches ``on_choice`` with ``choice`` = the answer."""
        options = [(a[:20], a[:20]) for a in answers]
        if len(options) <= MAX_BUTTONS:
            return await self.reply_buttons(text, options, quote=quote)
        return await self.reply_list(text, "Choose", [(a[:24], a[:24]) for a in answers], quote=quote)

    async def reply_link(self, text: str, label: str, url: str) -> str:
        """A call-to-action button that opens ``url``."""
        return await self._send(cta_body(text, label, url))

    async def reply_media(
        self,
        data: bytes,
        mime_type: str,
        *,
        kind: str | None = None,
        caption: str | None = None,
        filename: str | None = None,
    ) -> str:
        """Upload ``data`` (the endpoint encrypts it) and send it as an image, video, audio or
        document (``kind`` guessed from ``mime_type`` when not given)."""
        media_id = await self.api.upload(
            data, mime_type, filename=filename or "file", number=self.update.phone_number_id
        )
        if kind is None:
            major = mime_type.split("/", 1)[0]
            kind = major if major in ("image", "video", "audio") else "document"
        member: dict[str, Any] = {"id": media_id}
        if caption and kind != "audio":
            member["caption"] = caption
        if filename and kind == "document":
            member["filename"] = filename
        return await self._send({"type": kind, kind: member})

    async def reply_template(
        self, name: str, language: str, components: Sequence[Mapping[str, Any]] = ()
    ) -> str:
        """A template of the business (outside the 24-hour window too, with consent)."""
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            template["components"] = [dict(c) for c in components]
        return await self._send({"type": "template", "template": template})

    async def react(self, emoji: str) -> str:
        """React to the customer's message."""
        if self.message_id is None:
            raise ValueError("there is no message to react to")
        return await self._send(
            {"type": "reaction", "reaction": {"message_id": self.message_id, "emoji": emoji}}
        )

    async def mark_read(self, *, typing: bool = False) -> None:
        """Mark the customer's message read (and show "typing…" with ``typing=True``)."""
        if self.message_id is not None:
            await self.api.mark_read(self.message_id, typing=typing, number=self.update.phone_number_id)

    async def hand_off(self, summary: str, *, reason: str = "requested") -> str:
        """Hand the conversation to a person with ``summary`` (written by the bot: the server never
        reads the conversation). The bot stays silent for this customer until the person hands it
        back or resolves it; the hand-off's id."""
        opened = await self.api.hand_off(
            self.customer.user_id, summary=summary, reason=reason, number=self.update.phone_number_id
        )
        self.state.handoff = str(opened["handoff_id"])
        return self.state.handoff
