"""What ``passerelle serve`` says as it starts: where it listens, on which database, and what to run
next (a ``passerelle chat`` command for each app). Nothing secret: a database URL's password is
masked."""

from __future__ import annotations

import errno
import logging
import os
import shlex
import socket
import sys
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

from passerelle.config import Settings
from passerelle.domain.apps import App, IdentityKind

log = logging.getLogger("passerelle.server")

_EXAMPLES: dict[IdentityKind, tuple[str, ...]] = {
    IdentityKind.PHONE: ("--phone", "+33612345678", "--name", "Bob"),
    IdentityKind.HANDLE: ("--handle", "alice"),
    IdentityKind.PROFILE: ("--username", "carol.b", "--name", "Carol B."),
}


def client_url(settings: Settings) -> str:
    """The URL a client on this machine uses (a wildcard listening address is reached on loopback)."""
    host = settings.host
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def masked(url: str) -> str:
    """``postgresql://user:***@db/name``: a URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def chat_command(settings: Settings, app: App) -> str:
    """``passerelle chat --server http://127.0.0.1:8000 --app chat --phone +33612345678 --name Bob``."""
    words = ["passerelle", "chat", "--server", client_url(settings), "--app", app.name]
    return shlex.join([*words, *_EXAMPLES.get(app.identity, ())])


def unusable_ports(settings: Settings) -> str | None:
    """Why the server could not listen where it is told to (a port taken, an address not of this
    machine), said before anything starts; None when it can. Each port is bound, then released."""
    ports = [("--port", settings.port)]
    if settings.ws_port:
        ports.append(("--ws-port", settings.ws_port))
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    for option, port in ports:
        try:
            with socket.create_server((settings.host, port), family=family):
                pass
        except OSError as exc:
            reason = (os.strerror(exc.errno) if exc.errno else str(exc)).lower()
            if exc.errno == errno.EADDRINUSE:
                variable = f"PASSERELLE_{option[2:].upper().replace('-', '_')}"
                advice = f"another server there? {option} (or {variable}) picks another"
            else:
                advice = "--host (or PASSERELLE_HOST) names an address of this machine, like 127.0.0.1"
            return f"cannot listen on {settings.host}:{port} ({reason}): {advice}"
    return None


def unusable_data_dir(settings: Settings) -> str | None:
    """A data dir that cannot be one (it, or a folder above it, is a file), said before starting."""
    folder = settings.data_dir.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"the data dir {settings.data_dir} cannot be made: {folder} is a file, not a folder"
    return None


def announce(settings: Settings, out: TextIO | None = None) -> None:
    """Readable lines on the console (``log_format = "console"``), or one structured log event."""
    apps = list(settings.apps)
    commands = [chat_command(settings, app) for app in apps]
    web = [f"{client_url(settings)}/app/{a.name}/" for a in apps]
    database = masked(settings.effective_database_url())
    if settings.log_format == "json":
        log.info(
            "passerelle is starting",
            extra={
                "url": client_url(settings),
                "apps": [a.name for a in apps],
                "database": database,
                "next": commands,
                "web_apps": web,
            },
        )
        return
    out = out or sys.stderr
    listing = ", ".join(f"{a.name} ({a.identity.value})" for a in apps)
    lines = [
        f"Passerelle on {client_url(settings)} — apps: {listing}",
        f"Database: {database}",
        "Open the web apps in a browser (one person per browser profile):",
        *(f"    {name}: {url}" for name, url in zip((a.name for a in apps), web, strict=True)),
        "Or chat from another terminal (one per person), for example:",
        *(f"    {command}" for command in commands),
    ]
    if settings.code_sender == "console" and any(a.identity is IdentityKind.PHONE for a in apps):
        lines.append("One-time codes for phone apps are printed here (a development code sender).")
    lines.append("Ctrl-C stops the server.")
    out.write("\n".join(lines) + "\n")
    out.flush()
