"""``passerelle demo``: three people on three apps talk through a real server, then the proof.

The server runs in this process (``server.demo_server``) on SQLite in ``<dir>/server``, with an SMS
stand-in as its code sender; each person's device is a real SDK client with its store in
``<dir>/clients/<name>``. After the conversation (``script``) the server is stopped and every
byte of its data directory and every line it logged are searched for every text that was sent: the
demo exits 0 only when none is found. It is bounded in time (``DEMO_TIMEOUT_S``).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from rich.console import Console
from rich.text import Text

from passerelle.cli.chat.view import AppStyles, make_console
from passerelle.cli.demo.business import business_settings
from passerelle.cli.demo.business import converse as converse_with_business
from passerelle.cli.demo.people import DemoFailed, SmsStandIn
from passerelle.cli.demo.proof import files_under, find_plaintext
from passerelle.cli.demo.script import Script
from passerelle.cli.demo.server import LogCapture, captured_logs, demo_server, demo_settings
from passerelle.cli.demo.shop import ShopScript
from passerelle.config import Settings
from passerelle.sdk import SdkError

DEMO_TIMEOUT_S = 50.0
STATUS_USAGE = 2


SCENES = ("people", "business", "shop")
"""``passerelle demo`` (three people on three apps), ``passerelle demo business`` (a business's
bot answering them: ``business.py``) and ``passerelle demo shop`` (a shop bot written with
``passerelle.bot`` selling to them: ``shop.py``)."""


def main(data_dir: Path | None = None, scene: str = "people") -> int:
    """Run the demo; returns the process exit status."""
    try:
        return asyncio.run(run_demo(data_dir, console=make_console(), scene=scene))
    except KeyboardInterrupt:
        return 130


async def run_demo(data_dir: Path | None, *, console: Console, scene: str = "people") -> int:
    """The demo in ``data_dir`` (kept afterwards; it must be empty or new), or in a fresh temporary
    directory that is removed afterwards."""
    if data_dir is None:
        root = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="passerelle-demo-"))
        try:
            return await run_in(root, console=console, scene=scene)
        finally:
            await asyncio.to_thread(shutil.rmtree, root, True)
    if await asyncio.to_thread(_holds_files, data_dir):
        console.print(Text(f"✗ {data_dir} is not empty: give a new or empty directory", style="red"))
        return STATUS_USAGE
    status = await run_in(data_dir, console=console, scene=scene)
    console.print(Text(f"The server's data, its log and the clients' stores are in {data_dir}", style="dim"))
    return status


def _holds_files(path: Path) -> bool:
    return path.exists() and any(path.iterdir())


async def run_in(root: Path, *, console: Console, scene: str = "people") -> int:
    server_dir, clients_dir = root / "server", root / "clients"
    await asyncio.to_thread(server_dir.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(clients_dir.mkdir, parents=True, exist_ok=True)
    business = scene in ("business", "shop")
    settings = await asyncio.to_thread(business_settings if business else demo_settings, server_dir)
    styles = AppStyles(
        colors={a.name: a.colors.get("primary", "") for a in settings.apps},
        names={a.name: a.display_name for a in settings.apps},
    )
    phone = SmsStandIn()
    with captured_logs() as logs:
        try:
            async with asyncio.timeout(DEMO_TIMEOUT_S):
                if business:
                    script_class = ShopScript if scene == "shop" else None
                    sent = await converse_with_business(
                        settings, phone, root, console, styles, script_class=script_class
                    )
                else:
                    sent = await converse(settings, phone, clients_dir, console, styles)
        except TimeoutError:
            console.print(Text(f"✗ the demo did not finish within {DEMO_TIMEOUT_S:g} s", style="red"))
            return 1
        except (DemoFailed, SdkError) as exc:
            console.print(Text(f"✗ {exc}", style="red"))
            return 1
    status = await prove(sent, server_dir, clients_dir, logs, console)
    if business and status == 0:
        console.print(
            Text(
                f"  (the conversation is kept by the business's own endpoint, in {root / 'business'}:"
                " it holds the keys, as the people's devices do)",
                style="dim",
            )
        )
    return status


async def converse(
    settings: Settings, phone: SmsStandIn, clients_dir: Path, console: Console, styles: AppStyles
) -> list[tuple[str, str]]:
    """Start the server, run the script, close every client, stop the server. Returns what was sent:
    (what, plaintext) pairs — messages, and the group's name, the caption, the file's name …"""
    async with demo_server(settings, phone) as url:
        apps = ", ".join(f"{a.display_name} ({a.identity.value})" for a in settings.apps)
        console.print(Text.assemble(Text("Passerelle", style="bold"), f" on {url} — apps: {apps}"))
        console.print(Text(f"Server data (SQLite): {settings.data_dir}", style="dim"))
        async with AsyncExitStack() as stack:
            script = Script(
                url=url,
                clients_dir=clients_dir,
                phone=phone,
                console=console,
                styles=styles,
                stack=stack,
            )
            await script.run()
        return script.plaintexts()


def counted(sent: list[tuple[str, str]]) -> str:
    """``16 messages, a group name, a caption, a file name, a photo``."""
    counts: dict[str, int] = {}
    for what, _ in sent:
        counts[what] = counts.get(what, 0) + 1
    return ", ".join(f"{n} {what}s" if n > 1 else f"a {what}" for what, n in counts.items())


async def prove(
    plaintexts: list[tuple[str, str]], server_dir: Path, clients_dir: Path, logs: LogCapture, console: Console
) -> int:
    """Search the stopped server's files and logs (and the clients' stores) for every plaintext."""
    console.print()
    console.rule(Text("What the server kept", style="bold"))
    files = await asyncio.to_thread(files_under, server_dir)
    sizes = await asyncio.to_thread(lambda: [(p.name, p.stat().st_size) for p in files])
    listing = ", ".join(f"{name} ({size:,} bytes)" for name, size in sizes)
    console.print(
        f"{len(files)} file{'s' if len(files) != 1 else ''} in the server's data directory: {listing}; {len(logs.lines)} log lines"
    )
    await asyncio.to_thread(
        (server_dir.parent / "server.log").write_text, "\n".join(logs.lines) + "\n", "utf-8"
    )
    sent = [text for _, text in plaintexts]
    found = await asyncio.to_thread(find_plaintext, sent, files, logs.lines)
    client_files = await asyncio.to_thread(files_under, clients_dir)
    in_clients = await asyncio.to_thread(find_plaintext, sent, client_files, [])
    for finding in found + in_clients:
        console.print(Text(f"✗ {finding.text!r} appears in {finding.where}", style="bold red"))
    if found or in_clients:
        return 1
    console.print(
        Text(
            f"✓ none of the {len(sent)} plaintexts ({counted(plaintexts)}) appears in the server's"
            " database, blob files or logs",
            style="bold green",
        )
    )
    console.print(
        Text(
            f"✓ nor in the {len(client_files)} files of the clients' stores, which seal them at rest",
            style="green",
        )
    )
    return 0
