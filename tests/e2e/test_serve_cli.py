"""``passerelle serve`` as an operator meets it: its help, its first lines, its config file, its logs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from passerelle.cli.main import app
from tests.e2e.terminals import Terminals
from tests.ports import reserved_port


def test_serve_help_shows_the_defaults() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for shown in (
        "[default: (8000)]",
        "[default: (127.0.0.1)]",
        "[default: (./data)]",
        "[default: (console)]",
        "[default: (info)]",
        "--log-format",
        "PASSERELLE_<SETTING>",
        "[server] table",
        "without [apps.*]",
    ):
        assert shown in text, f"{shown!r} not in:\n{result.output}"


def test_chat_help_says_how_to_name_another_server() -> None:
    result = CliRunner().invoke(app, ["chat", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    text = " ".join(result.output.split())
    assert "http://127.0.0.1:8000" in text
    assert "--server" in text
    assert "PASSERELLE_SERVER" in text


async def test_serve_prints_where_it_listens_and_the_chat_command_to_run(terminals: Terminals) -> None:
    server = terminals.server
    assert server is not None
    await server.line(f"Passerelle on {terminals.url} — apps: chat (phone), photo (handle), social (profile)")
    await server.line("Open the web apps in a browser")
    await server.line(f"    chat: {terminals.url}/app/chat/")
    await server.line(f"    photo: {terminals.url}/app/photo/")
    await server.line(f"    social: {terminals.url}/app/social/")
    async with httpx.AsyncClient() as http:  # what the lines promise is there
        page = await http.get(f"{terminals.url}/app/photo/")
    assert page.status_code == 200 and 'data-app="photo"' in page.text
    await server.line("Or chat from another terminal")
    await server.line(
        f"    passerelle chat --server {terminals.url} --app chat --phone +33612345678 --name Bob"
    )
    await server.line(f"    passerelle chat --server {terminals.url} --app photo --handle alice")
    # Logs are readable lines by default: here the access log of the test's first health check.
    await server.line(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO +passerelle\.access: request  method=GET")
    )


async def test_a_config_with_only_a_server_table_keeps_the_apps_and_logs_json(
    no_server: Terminals, tmp_path: Path
) -> None:
    port = reserved_port()
    config = tmp_path / "passerelle.toml"
    config.write_text(f'[server]\nport = {port}\nlog_format = "json"\n', encoding="utf-8")
    await no_server.serve("--config", str(config), port=port)
    async with httpx.AsyncClient() as http:
        listing = (await http.get(f"{no_server.url}/v1/apps")).json()
        assert [a["name"] for a in listing["apps"]] == ["chat", "photo", "social"]
        assert (
            await http.get(f"{no_server.url}/v1/lookup", params={"address": "photo:x"})
        ).status_code == 401
    server = no_server.server
    assert server is not None
    await server.line('"route": "/v1/lookup"')  # the access log, one JSON line per request
    await server.stop()
    entries = [json.loads(line) for line in server.lines]  # every line is one JSON object
    starting = next(e for e in entries if e["msg"] == "passerelle is starting")
    assert starting["url"] == no_server.url
    assert (
        f"passerelle chat --server {no_server.url} --app chat --phone +33612345678 --name Bob"
        in (starting["next"])
    )
    assert starting["web_apps"] == [f"{no_server.url}/app/{name}/" for name in ("chat", "photo", "social")]
    assert all({"ts", "level", "logger", "msg"} <= e.keys() for e in entries)
    assert "photo:x" not in server.output()  # never the query string


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[server]\nport = "eighty"\n', "port = 'eighty' ([server] in "),
        ("[apps.chat]\nidentity = 'fax'\n", "[apps.chat] in "),
        ("[server\n", "is not valid TOML"),
    ],
)
async def test_a_bad_config_is_one_clear_line(
    no_server: Terminals, tmp_path: Path, text: str, expected: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    server = await no_server.run("server", "serve", "--config", str(config))
    assert await server.exit_status() == 2
    assert len(server.lines) == 1, server.output()
    assert server.lines[0].startswith("passerelle serve: ")
    assert expected in server.lines[0]


async def test_a_port_in_use_is_one_clear_line(terminals: Terminals) -> None:
    port = terminals.url.rsplit(":", 1)[1]
    second = await terminals.run(
        "second", "serve", "--data-dir", str(terminals.tmp_path / "other"), "--port", port
    )
    assert await second.exit_status() == 1
    assert second.lines == [
        f"passerelle serve: cannot listen on 127.0.0.1:{port} (address already in use): another server there? "
        "--port (or PASSERELLE_PORT) picks another"
    ]
