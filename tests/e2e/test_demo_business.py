"""``passerelle demo business``: a business's bot answers customers on the three apps through a
self-run endpoint, and the server keeps no plaintext of their conversations."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from passerelle.cli.chat.view import make_console
from passerelle.cli.demo import bot as velo
from passerelle.cli.demo.command import run_demo
from tests.conftest import assert_absent

SUMMARY = re.compile(
    r"^✓ none of the (\d+) plaintexts \((\d+) messages, 6 button titles\)"
    r" appears in the server's database, blob files or logs$"
)
HEARD = re.compile(
    r"^   🤖 the bot's webhook: (?P<what>.+) from “(?P<name>[^”]+)”, ZZ\.\d{19} \(a per-business id\)$"
)


@pytest.mark.timeout(90)
async def test_the_business_demo_answers_three_apps_and_the_server_keeps_no_plaintext(tmp_path: Path) -> None:
    out = io.StringIO()
    status = await run_demo(tmp_path / "demo", console=make_console(file=out), scene="business")
    text = out.getvalue()
    assert status == 0, text
    lines = text.splitlines()

    assert any(
        re.match(r"^✓ Vélo Paris created as biz:velo-paris, verified, number \+33123456789", x) for x in lines
    )
    assert any(re.match(r"^✓ the bot's webhook http://127\.0\.0\.1:\d+/webhook answered", x) for x in lines)
    for person in ("[photo] alice", "[chat] bob", "[social] carol"):
        assert (
            f"{person} finds Vélo Paris ✓ verified, its endpoint run by the business itself"
            " (a statement signed by its key)"
        ) in lines
        assert any(x.startswith(f"Vélo Paris → {person}: Vélo Paris — Bonjour ") for x in lines)
    # Each person writes; the bot gets it with the name their app shows and a per-business id.
    assert "[photo] alice → Vélo Paris: Bonjour ! Vous louez des vélos ?" in lines
    assert "[chat] bob → Vélo Paris: Salut, mon vélo a un souci" in lines
    assert "[social] carol → Vélo Paris: Hallo!" in lines
    heard = [(m["what"], m["name"]) for x in lines if (m := HEARD.match(x))]
    assert heard == [
        ("“Bonjour ! Vous louez des vélos ?”", "alice"),
        ("a tap on [Louer un vélo]", "alice"),
        ("a tap on [Vélo cargo]", "alice"),
        ("“Salut, mon vélo a un souci”", "Bob"),
        ("a tap on [Réparation]", "Bob"),
        ("“Hallo!”", "Carol Bernard"),
        ("a tap on [Louer un vélo]", "Carol Bernard"),
        ("a tap on [Vélo électrique]", "Carol Bernard"),
    ]
    # The menu (reply buttons) and the list, as the apps show them, and the answers to the taps.
    assert lines.count("    Louer un vélo   Réparation   Horaires  ") == 3
    assert lines.count("   ☰ Voir les vélos: Vélo de ville · Vélo cargo · Vélo électrique") == 2
    assert "[chat] bob taps [Réparation]" in lines
    assert f"Vélo Paris → [chat] bob: {velo.REPAIR}" in lines
    assert "[photo] alice picks “Vélo cargo”" in lines
    booked = "C'est réservé : Vélo cargo demain à 9 h, 12 rue des Cyclistes. À demain alice !"
    assert f"Vélo Paris → [photo] alice: {booked}" in lines
    assert "   alice's screen: Vélo Paris reacted 🚲 to “Vélo cargo”" in lines
    assert (
        "   carol's screen (no reactions on this app): Vélo Paris: 🚲 reacted to: “Vélo électrique”" in lines
    )

    [summary] = [m for x in lines if (m := SUMMARY.match(x))]
    assert int(summary[1]) == int(summary[2]) + 6 and int(summary[2]) >= 10

    # An independent look: the server's files and the log it wrote hold none of it.
    root = tmp_path / "demo"
    server_files = [p for p in (root / "server").rglob("*") if p.is_file()]
    assert any(p.name == "passerelle.db" for p in server_files)
    said = [
        "Bonjour ! Vous louez des vélos ?",
        "Salut, mon vélo a un souci",
        booked,
        velo.REPAIR,
        velo.BIKES_TEXT,
    ]
    assert_absent(said, [*server_files, root / "server.log"])
    assert (root / "business").is_dir()  # the business's endpoint kept its keys on its own side
