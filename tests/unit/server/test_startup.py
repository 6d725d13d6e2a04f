"""What ``passerelle serve`` says as it starts: the URL a local client uses, the chat commands to run
next, and a database URL without its password."""

from __future__ import annotations

import io
from dataclasses import replace

from passerelle.config import load_settings
from passerelle.server.startup import announce, chat_command, client_url, masked


def test_a_wildcard_address_is_reached_on_loopback() -> None:
    settings = load_settings()
    assert client_url(replace(settings, host="0.0.0.0", port=9000)) == "http://127.0.0.1:9000"
    assert client_url(replace(settings, host="::", port=9000)) == "http://[::1]:9000"
    assert client_url(replace(settings, host="10.1.2.3", port=80)) == "http://10.1.2.3:80"


def test_a_database_password_is_never_shown() -> None:
    assert masked("postgresql://passerelle:s3cret@db:5432/p") == "postgresql://passerelle:***@db:5432/p"
    assert masked("sqlite:///data/passerelle.db") == "sqlite:///data/passerelle.db"


def test_the_next_step_is_a_chat_command_per_app() -> None:
    settings = replace(load_settings(), database_url="postgresql://u:s3cret@db/p")
    chat, photo, social = list(settings.apps)
    assert chat_command(settings, chat) == (
        "passerelle chat --server http://127.0.0.1:8000 --app chat --phone +33612345678 --name Bob"
    )
    assert chat_command(settings, social).endswith("--username carol.b --name 'Carol B.'")
    out = io.StringIO()
    announce(settings, out)
    text = out.getvalue()
    assert chat_command(settings, photo) in text
    assert "s3cret" not in text
    assert "One-time codes for phone apps are printed here" in text
