"""Attachments in ``passerelle chat``: ``/send-file PATH [caption]`` and ``/save N PATH``.

The SDK encrypts the file with a fresh key before it leaves this machine; the server stores only
ciphertext. ``/save`` downloads a received attachment, checks its size and hash against what the
(encrypted) message said, decrypts it and writes it where the person asked (into a folder: under
the sender's file name with any folder part dropped — the sender never chooses where it goes).
"""

from __future__ import annotations

import asyncio
import mimetypes
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text

from passerelle.cli.chat.shown import no_message, sent_message
from passerelle.cli.chat.slash import CommandGroup
from passerelle.cli.chat.view import clock, human_size
from passerelle.sdk import SentMessage

MAX_FILE_BYTES = 100_000_000
"""The server's default upload limit; a larger file is refused before anything is read."""


def kind_of(mime: str) -> str:
    if mime.startswith("image/"):
        return "image"
    if mime.startswith("video/"):
        return "video"
    return "file"


def safe_name(name: str, fallback: str) -> str:
    """The last part of a sender's file name, never a way out of the folder chosen."""
    base = Path(name.replace("\\", "/")).name
    return base if base not in ("", ".", "..") and not base.startswith(".") else fallback


def _expand(raw: str) -> Path:
    return Path(raw).expanduser()


def _stat(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None


@dataclass(eq=False)
class FileCommands(CommandGroup):
    def commands(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        return {"/send-file": self.send_file, "/save": self.save}

    async def send_file(self, arg: str) -> None:
        try:
            words = shlex.split(arg)
        except ValueError:
            words = arg.split()
        if not words:
            self.say(Text("usage: /send-file PATH [caption]", style="yellow"))
            return
        path = await asyncio.to_thread(_expand, words[0])
        caption = " ".join(words[1:]) or None
        size = await asyncio.to_thread(_stat, path)
        if size is None:
            self.say(Text(f"no file at {path}", style="yellow"))
            return
        if size > MAX_FILE_BYTES:
            self.say(Text(f"{path.name} is {human_size(size)}: at most 100 MB", style="yellow"))
            return
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        kind = kind_of(mime)
        media = self.client.media
        sent: SentMessage
        if self.target.group is not None:
            conv = self.target.group
            content = await media.prepare(conv, kind, path, name=path.name, mime=mime, caption=caption)
            sent = await self.client.groups.send_content(conv, content)
            where = await self.printer.groups.tag(conv)
        elif self.target.peer is not None:
            peer = self.target.peer
            if kind == "image":
                sent = await media.send_image(peer, path, name=path.name, mime=mime, caption=caption)
            elif kind == "video":
                sent = await media.send_video(peer, path, name=path.name, mime=mime, caption=caption)
            else:
                sent = await media.send_file(peer, path, name=path.name, mime=mime, caption=caption)
            where = await self.printer.name(peer)
        else:
            self.say(Text("pick someone first: /to photo:alice, or a group: /to #NAME", style="yellow"))
            return
        text = caption or path.name
        number = self.printer.shown.number(sent_message(self.client, sent, text))
        self.say(
            Text.assemble(
                f"({number}) {clock(sent.ts)} you → ",
                where,
                f": 📎 {kind} {path.name!r}, {human_size(size)}",
                f" — {caption}" if caption else "",
                " ✓ (encrypted before upload)",
            )
        )

    async def save(self, arg: str) -> None:
        try:
            words = shlex.split(arg)
        except ValueError:
            words = arg.split()
        if len(words) != 2 or not words[0].isdigit():
            self.say(Text("usage: /save N PATH (N: the number shown before the message)", style="yellow"))
            return
        message = self.printer.shown.get(int(words[0]))
        if message is None:
            self.say(Text(no_message(words[0]), style="yellow"))
            return
        if message.attachment is None:
            self.say(Text(f"message ({words[0]}) has no attachment", style="yellow"))
            return
        target = await asyncio.to_thread(_expand, words[1])
        if await asyncio.to_thread(target.is_dir):
            target = target / safe_name(message.attachment.name, f"attachment-{words[0]}")
        saved = await self.client.media.save(message, target)
        att = message.attachment
        self.say(f"✓ saved {att.kind} ({human_size(att.size)}, hash verified, decrypted) to {saved}")
