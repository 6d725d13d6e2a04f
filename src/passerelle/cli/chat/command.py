"""``passerelle chat``: a terminal client on the Python SDK, for two people in two terminals.

The first run in a store directory registers (a one-time code for phone apps, a password for the
others) or, with ``--new-device``, adds this device to an existing account; later runs resume from
the store. Then either an interactive session (``ChatSession``) or, for scripts and tests, one of:

    passerelle chat --store S --send "text" --to photo:alice     send one message, exit 0
    passerelle chat --store S --receive 2 --timeout 30           print 2 messages, exit 0 (1 on timeout)

A password comes from the ``PASSERELLE_PASSWORD`` environment variable, ``--password`` (which other
users of the machine can see in the process list), the terminal (``getpass``, not echoed), or one
line of standard input when that is not a terminal. A code is asked for on standard input.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.text import Text

from passerelle.cli.chat.events import EventPrinter
from passerelle.cli.chat.input import StdinLines
from passerelle.cli.chat.reach import ServerUnreachable, reach
from passerelle.cli.chat.session import ChatSession
from passerelle.cli.chat.view import AppStyles, make_console
from passerelle.sdk import (
    AliasTaken,
    Client,
    InvalidInput,
    NotFound,
    SdkError,
    Unauthorized,
    Unavailable,
)

DEFAULT_SERVER = "http://127.0.0.1:8000"
STORE_FILE = "client.db"
STATUS_USAGE = 2
SIGNUP_TRIES = 3
"""A wrong code or password at sign-up is asked for again, this many times in all."""


class UsageError(Exception):
    """The options or answers do not make sense; the message says what to do."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatOptions:
    server: str = DEFAULT_SERVER
    app: str | None = None
    store: Path | None = None
    phone: str | None = None
    handle: str | None = None
    username: str | None = None
    name: str | None = None
    password: str | None = None
    new_device: bool = False
    device_name: str | None = None
    send: str | None = None
    to: str | None = None
    receive: int | None = None
    timeout: float = 30.0

    def check(self) -> None:
        if (self.send is None) != (self.to is None):
            raise UsageError("--send and --to go together: --send 'hello' --to photo:alice")
        if self.send is not None and self.receive is not None:
            raise UsageError("give --send or --receive, not both")
        if self.receive is not None and self.receive < 1:
            raise UsageError("--receive takes a number of messages (1 or more)")
        if sum(x is not None for x in (self.phone, self.handle, self.username)) > 1:
            raise UsageError("give one of --phone, --handle, --username")


def main(options: ChatOptions) -> int:
    """Run the client; returns the process exit status."""
    try:
        return asyncio.run(run_chat(options))
    except KeyboardInterrupt:
        return 130


async def run_chat(
    options: ChatOptions, *, console: Console | None = None, lines: StdinLines | None = None
) -> int:
    console = console or make_console()
    lines = lines or StdinLines()
    interactive = options.send is None and options.receive is None
    within_s = None if interactive else options.timeout
    try:
        options.check()
        client, styles = await open_or_enrol(options, console, lines, within_s=within_s)
    except UsageError as exc:
        console.print(Text(f"✗ {exc}", style="red"))
        return STATUS_USAGE
    except ServerUnreachable as exc:
        console.print(Text(f"✗ {exc}", style="red"))
        return 1
    except SdkError as exc:
        console.print(Text(f"✗ {explain(exc, enrolling=True)}", style="red"))
        return 1
    try:
        if options.send is not None and options.to is not None:
            return await send_once(
                client, console, styles, options.to, options.send, within_s=options.timeout
            )
        if options.receive is not None:
            return await receive(client, console, styles, options.receive, options.timeout)
        return await ChatSession(client, console, lines, styles).run()
    except ServerUnreachable as exc:
        console.print(Text(f"✗ {exc}", style="red"))
        return 1
    except SdkError as exc:
        console.print(Text(f"✗ {explain(exc)}", style="red"))
        return 1
    finally:
        await client.close()


def explain(exc: SdkError, *, enrolling: bool = False) -> str:
    if isinstance(exc, AliasTaken):
        return f"{exc.message}: to use this account here too, run again with --new-device"
    if isinstance(exc, Unauthorized) and enrolling:
        return f"{exc.message} (a wrong code or password?)"
    if isinstance(exc, NotFound):
        return f"{exc.message} (nobody there, or they chose not to be found from your app)"
    return exc.message


async def fetch_styles(server: str) -> AppStyles:
    """The server's apps (``GET /v1/apps``), for their colours and how each names people. Best effort:
    without them the client still works, in one colour."""
    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            response = await http.get(f"{server.rstrip('/')}/v1/apps")
            response.raise_for_status()
            listing: Any = response.json()
    except (httpx.HTTPError, ValueError):
        return AppStyles()
    apps = listing.get("apps") if isinstance(listing, dict) else None
    return AppStyles.from_listing(a for a in apps or [] if isinstance(a, dict))


# --- the device: resume, register, or add --------------------------------------------------------


def default_store(app: str, alias: str) -> Path:
    return Path.home() / ".passerelle" / "chat" / f"{app}-{alias.lstrip('@')}"


def default_device_name() -> str:
    host = "".join(c for c in socket.gethostname() if c.isprintable()).strip()
    return f"Terminal ({host})"[:64] if host else "Terminal"


async def open_or_enrol(
    options: ChatOptions, console: Console, lines: StdinLines, *, within_s: float | None = None
) -> tuple[Client, AppStyles]:
    """The device of the store (resumed), or a new one (registered or added). The apps' styles come
    from the device's own server: the one in its store when resuming, ``--server`` otherwise."""
    alias = options.phone or options.handle or options.username
    if options.store is not None:
        store = options.store
    elif options.app and alias:
        store = default_store(options.app, alias)
    else:
        raise UsageError("give --store DIR, or --app and your --phone/--handle/--username")
    exists = await asyncio.to_thread((store / STORE_FILE).exists)
    if exists and options.new_device:
        raise UsageError(f"{store} already holds a device; give the new device its own --store")
    if exists:
        client = await Client.open(store)
        try:
            if options.app and options.app != client.app:
                raise UsageError(f"the device in {store} belongs to the {client.app} app, not {options.app}")
            await reach(client.server_url, console, within_s=within_s)
            return client, await fetch_styles(client.server_url)
        except BaseException:
            await client.close()
            raise
    if not options.app:
        raise UsageError("--app is needed the first time (chat, photo or social)")
    await reach(options.server, console, within_s=within_s)
    styles = await fetch_styles(options.server)
    new_folders = await asyncio.to_thread(_missing_folders, store)
    try:
        client = await enrol(options, store, console, lines, styles)
    except BaseException:
        await asyncio.to_thread(_remove_empty, new_folders)  # nothing left behind
        raise
    console.print(Text(f"Your device's keys and messages are kept (encrypted) in {store}", style="dim"))
    return client, styles


def _missing_folders(store: Path) -> list[Path]:
    """``store`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    folder = store.expanduser().absolute()
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first; a folder that holds anything stays
        try:
            folder.rmdir()
        except OSError:
            return


async def enrol(
    options: ChatOptions, store: Path, console: Console, lines: StdinLines, styles: AppStyles
) -> Client:
    app = options.app or ""
    kind = styles.identities.get(app)
    if kind is None:
        if styles.identities:
            listing = ", ".join(f"{name} ({how})" for name, how in styles.identities.items())
            raise UsageError(f"the server at {options.server} has no app {app!r}; its apps: {listing}")
        raise UsageError(f"the server at {options.server} did not list its apps (GET /v1/apps)")
    adding = options.new_device
    phone = handle = username = None
    if kind == "phone":
        phone = options.phone or await ask(console, lines, "Your phone number (like +33612345678): ")
    elif kind == "handle":
        handle = options.handle or await ask(console, lines, "Your handle: ")
    else:
        username = options.username or await ask(console, lines, "Your username: ")
    display_name = options.name
    if display_name is None and kind != "handle" and not adding:
        display_name = await ask(console, lines, "Your name: " if kind == "phone" else "Your real name: ")
    if phone is not None:
        await Client.request_code(options.server, app, phone)
        console.print(f"A code was sent to {phone} (a development server prints it on its console).")
    device_name = options.device_name or default_device_name()
    for attempt in range(1, SIGNUP_TRIES + 1):
        code = secret = None
        if phone is not None:
            code = await ask(console, lines, "Code: ")
        else:
            secret = await password(options, console, lines)
        try:
            if adding:
                client = await Client.add_device(
                    options.server,
                    store,
                    app=app,
                    device_name=device_name,
                    phone=phone,
                    code=code,
                    handle=handle,
                    username=username,
                    password=secret,
                )
            else:
                client = await Client.register(
                    options.server,
                    store,
                    app=app,
                    display_name=display_name,
                    device_name=device_name,
                    phone=phone,
                    code=code,
                    handle=handle,
                    username=username,
                    password=secret,
                )
        except (Unauthorized, InvalidInput) as exc:
            asked = "code" if phone is not None else "password"
            retry = asked in exc.message.lower() or isinstance(exc, Unauthorized)
            if not retry or attempt == SIGNUP_TRIES or (secret is not None and options.password):
                raise
            left = SIGNUP_TRIES - attempt
            why = exc.message if isinstance(exc, InvalidInput) else f"that {asked} was not accepted"
            console.print(
                Text(f"✗ {why}: type the {asked} again ({left} more {plural(left, 'try')})", style="red")
            )
            continue
        break
    if adding:
        console.print(
            Text.assemble("✓ this device was added to ", styles.tag(app), f" {client.address or ''}")
        )
    else:
        console.print(Text.assemble("✓ registered on ", styles.tag(app), f" as {client.address or ''}"))
    return client


def plural(count: int, word: str) -> str:
    return word if count == 1 else ("tries" if word == "try" else f"{word}s")


async def ask(console: Console, lines: StdinLines, prompt: str) -> str:
    console.print(prompt, end="")
    answer = await lines.readline()
    if answer is None or not answer.strip():
        raise UsageError(f"no answer to {prompt.strip().rstrip(':')!r}")
    return answer.strip()


async def password(options: ChatOptions, console: Console, lines: StdinLines) -> str:
    if options.password:
        return options.password
    if await asyncio.to_thread(os.isatty, 0):
        # getpass reads the terminal itself, without echo; StdinLines is not watching it now.
        return await asyncio.to_thread(getpass.getpass, "Password: ")
    console.print("Password (or set PASSERELLE_PASSWORD): ", end="")
    answer = await lines.readline()
    if not answer:
        raise UsageError("no password given")
    return answer


# --- one message in, one message out ---------------------------------------------------------------


async def connect_within(client: Client, within_s: float) -> None:
    """Connect, or give up after ``within_s`` with a line that promises nothing (the client closes)."""
    try:
        await client.connect(timeout_s=within_s)
    except Unavailable:
        raise ServerUnreachable(
            f"the server at {client.server_url} answers, but no live connection came up within {within_s:g} s"
        ) from None


async def send_once(
    client: Client, console: Console, styles: AppStyles, to: str, text: str, *, within_s: float
) -> int:
    await connect_within(client, within_s)
    contact = await client.lookup(to)
    sent = await client.send_text(contact.account_id, text)
    console.print(
        Text.assemble("✓ sent to ", styles.person(contact.app, contact.display_name), f" (message {sent.id})")
    )
    return 0


async def receive(client: Client, console: Console, styles: AppStyles, count: int, within_s: float) -> int:
    printer = EventPrinter(client, console, styles)
    stream = client.messages()  # subscribed before connecting: the mailbox's messages come first
    got = 0
    try:
        async with asyncio.timeout(within_s):
            await connect_within(client, within_s)
            async for message in stream:
                await printer.message(message)
                got += 1
                if got >= count:
                    return 0
    except TimeoutError:
        pass
    console.print(Text(f"✗ received {got} of {count} messages in {within_s:g} s", style="red"))
    return 1
