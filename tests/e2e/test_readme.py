"""The README's Python snippets are programs that run: each is taken out of README.md as written and
run in a child process against a real server started by the test (``PASSERELLE_SERVER`` names it),
with Bob on the other side answering as the README says he does."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from passerelle.cli.main import app
from passerelle.sdk import Client, Message
from tests.conftest import ServerHandle

README = Path(__file__).resolve().parents[2] / "README.md"
BOB_PHONE = "+33612345678"
WAIT_S = 30.0


def python_snippets() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", README.read_text("utf-8"), flags=re.MULTILINE | re.DOTALL)


def test_the_readme_has_a_python_snippet_and_it_is_a_whole_program() -> None:
    snippets = python_snippets()
    assert snippets
    for snippet in snippets:
        compile(snippet, "README.md", "exec")  # top-level await would not compile
        assert "asyncio.run(" in snippet


async def bob_answers(bob: Client, seen: list[Message]) -> None:
    """Bob answers the program's first message, then waits for its reaction and its reply to his answer."""
    answered = reacted = replied = False
    async for message in bob.messages():
        seen.append(message)
        if message.text == "Bonjour Bob !" and not answered:
            await bob.send_text(message.sender, "Ça va ? Et toi ?")
            answered = True
        if message.outgoing is False and message.reply_to is not None and message.text == "Salut !":
            replied = True
        if any(emoji == "👍" for _, emoji in message.reactions):
            reacted = True
        if answered and reacted and replied:
            return


@pytest.mark.timeout(120)
@pytest.mark.parametrize("index", range(len(python_snippets())))
async def test_each_readme_python_snippet_runs_against_a_real_server(
    server: ServerHandle, tmp_path: Path, index: int
) -> None:
    snippet = python_snippets()[index]
    bob = await server.register_phone(tmp_path / "bob", BOB_PHONE, display_name="Bob")
    # The tour's people are there already (the snippet must not take one of their names).
    alice = await Client.register(
        server.url, tmp_path / "alice", app="photo", handle="alice", password="x" * 12
    )
    await alice.close()
    program = tmp_path / "hello.py"
    program.write_text(snippet, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")}
    env["PASSERELLE_SERVER"] = server.url
    seen: list[Message] = []
    async with bob:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(program),
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(WAIT_S):
            await bob_answers(bob, seen)
            output, _ = await process.communicate()
    text = output.decode("utf-8", "replace")
    assert process.returncode == 0, text
    assert "Bob: Ça va ? Et toi ?" in text
    reply = next(m for m in seen if m.text == "Salut !")
    assert reply.reply_to is not None and reply.reply_to.quote.startswith("Ça va ?")
    assert (tmp_path / "dave-store").is_dir()


def readme_commands() -> list[list[str]]:
    """Every ``passerelle ...`` command line of the README's shell blocks, as words."""
    blocks = re.findall(r"^```sh\n(.*?)^```$", README.read_text("utf-8"), flags=re.MULTILINE | re.DOTALL)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["passerelle"]:
                commands.append(words[1:])
    return commands


def test_the_readme_commands_name_options_that_exist() -> None:
    commands = readme_commands()
    assert ["serve"] in commands
    assert any(c[:1] == ["chat"] and "--username" in c for c in commands)
    for words in commands:
        # --help after the words: click refuses an unknown option before it shows the help.
        result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert result.exit_code == 0, f"passerelle {' '.join(words)}:\n{result.output}"
