"""``passerelle demo``: the scripted conversation runs end to end and proves the server kept no plaintext."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import sys
from pathlib import Path

import pytest

from passerelle.cli.chat.view import make_console
from passerelle.cli.demo.command import run_demo
from passerelle.cli.demo.people import Person
from passerelle.cli.demo.proof import find_plaintext
from passerelle.cli.demo.scenes import (
    GROUP_NAME,
    PHOTO_CAPTION,
    PHOTO_MARKER,
    PHOTO_NAME,
    REACTION,
    STORY_TEXT,
)
from passerelle.cli.demo.script import Script
from tests.conftest import assert_absent

MESSAGE_LINE = re.compile(
    r"^\[(chat|photo|social)\] \w+( \(laptop\))? → \[(chat|photo|social)\] \w+: (?P<text>.+)$"
)
GROUP_LINE = re.compile(rf"^\[(chat|photo|social)\] \w+ → #{GROUP_NAME}: (?P<text>[^📷].+)$")
SUMMARY = re.compile(
    r"^✓ none of the (\d+) plaintexts \((\d+) messages, a group name, a caption, a file name, a photo,"
    r" a reaction, a story\)"
    r" appears in the server's database, blob files or logs$"
)


async def run(data_dir: Path) -> tuple[int, str]:
    out = io.StringIO()
    status = await run_demo(data_dir, console=make_console(file=out))
    return status, out.getvalue()


@pytest.mark.timeout(90)
async def test_the_demo_converses_across_apps_and_the_server_keeps_no_plaintext(tmp_path: Path) -> None:
    status, out = await run(tmp_path / "demo")

    assert status == 0, out
    lines = out.splitlines()
    assert "[photo] alice → [chat] bob: Bonjour Bob ! Ça va ? 📸" in lines
    assert "[chat] bob → [photo] alice: Très bien, merci Alice ! Je t'écris depuis Chat 🙂" in lines
    assert "[social] carol → [photo] alice: Magnifiques ! Grüße aus Köln — ありがとう" in lines
    assert any(line.startswith("[chat] bob (laptop) → [photo] alice: ") for line in lines)
    assert "📱 SMS stand-in: bob's phone received a one-time code for +33612345678" in lines
    assert "[social] carol opens Social again and receives exactly those 2 messages, in order" in lines
    assert "   carol's phone: ⏱ bob set disappearing messages to 24 hours" in lines
    assert "   alice's screen: ✓ delivered" in lines
    assert "   bob reads it; alice's screen: ✓✓ read" in lines
    assert "✓ the same 60 digits on both screens: no one sits between them" in lines
    # A message request, shown and accepted.
    assert (
        "   bob's phone: ✉ a message request from [photo] alice (not in his contacts, another app)" in lines
    )
    assert "✓ [chat] bob accepts: [photo] alice is now a contact" in lines
    # A group across the three apps, a photo with its caption, a member removed.
    assert f"[photo] alice creates #{GROUP_NAME} with [chat] bob and [social] carol" in lines
    assert f"[social] carol → #{GROUP_NAME}: Je prends le pique-nique 🧺" in lines
    assert f"[photo] alice → #{GROUP_NAME}: 📷 {PHOTO_NAME} — {PHOTO_CAPTION}" in lines
    assert any(
        re.match(r"^   bob's phone downloads it, checks its hash, decrypts it: .* identical$", x)
        for x in lines
    )
    assert f"[photo] alice removes [social] carol from #{GROUP_NAME}" in lines
    assert "✓ [social] carol received nothing sent to the group after her removal" in lines
    assert f"[chat] bob reacts {REACTION} to alice's photo" in lines
    assert f"[chat] bob posts a story: {STORY_TEXT}" in lines

    texts = [m["text"] for line in lines if (m := MESSAGE_LINE.match(line))]
    group_texts = [m["text"] for line in lines if (m := GROUP_LINE.match(line))]
    assert len(texts) == 13 and len(group_texts) == 3
    [summary] = [m for line in lines if (m := SUMMARY.match(line))]
    assert (int(summary[1]), int(summary[2])) == (
        len(texts) + len(group_texts) + 6,
        len(texts) + len(group_texts),
    )

    # An independent look at what the demo left behind: the database, and the log it wrote out.
    server_files = [p for p in (tmp_path / "demo" / "server").rglob("*") if p.is_file()]
    assert any(p.name == "passerelle.db" for p in server_files)
    assert len(server_files) >= 2  # the photo's blob, beside the database: ciphertext only
    log = tmp_path / "demo" / "server.log"
    assert log.read_text("utf-8").count("\n") > 50  # the server did log: the check had lines to search
    content = [GROUP_NAME, PHOTO_CAPTION, PHOTO_NAME, PHOTO_MARKER, REACTION, STORY_TEXT]
    assert_absent([*texts, *group_texts, *content], [*server_files, log])
    assert sorted(p.name for p in (tmp_path / "demo" / "clients").iterdir()) == [
        "alice",
        "bob",
        "bob-laptop",
        "carol",
    ]


@pytest.mark.timeout(90)
async def test_the_demo_fails_when_a_plaintext_leaks_into_the_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipts = Script.receipts

    async def leaky(self: Script, alice: Person, bob: Person) -> None:
        await receipts(self, alice, bob)
        logging.getLogger("passerelle.server").info("a careless line: %s", self.sent[0])

    monkeypatch.setattr(Script, "receipts", leaky)
    status, out = await run(tmp_path / "demo")

    assert status == 1
    assert "✗ 'Bonjour Bob ! Ça va ? 📸' appears in the server's logs" in out.splitlines()
    assert "none of the" not in out


async def test_the_demo_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    status, out = await run(tmp_path)
    assert status == 2
    assert "is not empty" in out
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_the_search_finds_json_escaped_and_utf8_plaintext(tmp_path: Path) -> None:
    text = "Ça va ? 📸"
    escaped = tmp_path / "escaped.json"
    escaped.write_text('{"body": "\\u00c7a va ? \\ud83d\\udcf8"}', "ascii")
    clean = tmp_path / "clean.bin"
    clean.write_bytes(b"\x00ciphertext only")
    found = find_plaintext([text], [escaped, clean], ['{"msg": "Ça va ? 📸"}'])
    assert [(f.text, f.where) for f in found] == [(text, str(escaped)), (text, "the server's logs")]


@pytest.mark.timeout(90)
async def test_the_command_runs_in_a_temporary_directory_and_removes_it(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")}
    env |= {"TMPDIR": str(temp), "PYTHONIOENCODING": "utf-8"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "passerelle",
        "demo",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    async with asyncio.timeout(75):
        output, _ = await process.communicate()
    out = output.decode("utf-8")
    assert process.returncode == 0, out
    assert re.search(
        r"^✓ none of the \d+ plaintexts \(.*\) appears in the server's database, blob files", out, re.M
    )
    assert list(temp.iterdir()) == []
