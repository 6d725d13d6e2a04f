"""What ``passerelle serve`` says as it starts: the URL a local client uses, the chat commands to run
next, and a database URL without its password."""

from __future__ import annotations

import io
import socket
from dataclasses import replace
from pathlib import Path

from passerelle.config import load_settings
from passerelle.server.startup import (
    announce,
    chat_command,
    client_url,
    masked,
    unusable_data_dir,
    unusable_ports,
)


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
    return port


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


def test_a_data_dir_under_a_file_is_said_before_starting(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    settings = load_settings(data_dir=tmp_path / "file" / "data")
    assert unusable_data_dir(settings) == (
        f"the data dir {tmp_path / 'file' / 'data'} cannot be made: {tmp_path / 'file'} is a file, not a folder"
    )
    assert unusable_data_dir(load_settings(data_dir=tmp_path / "new" / "data")) is None


def test_an_address_not_of_this_machine_is_said_before_starting() -> None:
    settings = replace(load_settings(), host="192.0.2.1", port=free_port())  # TEST-NET-1: never local
    message = unusable_ports(settings)
    assert message is not None
    assert message.endswith("--host (or PASSERELLE_HOST) names an address of this machine, like 127.0.0.1")
