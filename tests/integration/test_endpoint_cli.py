"""The operator's and the business's commands (docs/operations.md, businesses): ``passerelle business
endpoint enrol`` prints a one-time token; ``passerelle business-endpoint run``, a real child process,
enrols with it, serves the bot on its port and posts the webhooks; ``business endpoint host`` makes
the server host one."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from passerelle.cli.main import app as cli_app
from passerelle.sdk import Client
from tests.conftest import ServerHandle
from tests.integration.endpoint_harness import Bot, inbound, next_message, open_shop
from tests.integration.test_business import ADMIN, PW
from tests.integration.webhook_receiver import Receiver
from tests.ports import reserved_port

pytestmark = pytest.mark.settings(admin_token=ADMIN)
SECRET = "app-secret-0123456789abcdef"


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot = Receiver(app_secret=SECRET)
    await bot.start()
    yield bot
    await bot.stop()


async def test_the_commands_enrol_and_run_a_self_run_endpoint(
    server: ServerHandle, http: httpx.AsyncClient, receiver: Receiver, tmp_path: Path
) -> None:
    shop = await open_shop(http, receiver)
    env = {"PASSERELLE_SERVER_URL": server.url, "PASSERELLE_ADMIN_TOKEN": ADMIN}
    issued = await asyncio.to_thread(
        CliRunner().invoke, cli_app, ["business", "endpoint", "enrol", shop.business_id], env=env
    )
    assert issued.exit_code == 0, issued.output
    token = json.loads(issued.output)["token"]
    port = reserved_port()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "passerelle",
        "business-endpoint",
        "run",
        "--server",
        server.url,
        "--data-dir",
        str(tmp_path / "endpoint"),
        "--listen",
        f"127.0.0.1:{port}",
        env={**os.environ, "PASSERELLE_ENROLMENT_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    alice = await Client.register(server.url, tmp_path / "alice", app="photo", handle="alice", password=PW)
    bot = Bot(f"http://127.0.0.1:{port}", shop)
    try:
        await alice.connect()
        found = await alice.businesses.find("biz:velo-paris")
        for _ in range(300):  # until the child enrolled and listens
            found = await alice.businesses.find("biz:velo-paris")
            if found.account_id and (await alice.businesses.hosting(found)).verified:
                try:
                    await bot.http.get(f"/{shop.number_id}")
                    break
                except httpx.HTTPError:
                    pass
            assert child.returncode is None, (await child.stdout.read()).decode() if child.stdout else ""
            await asyncio.sleep(0.1)
        assert (await alice.businesses.hosting(found)).mode == "self_run"
        stream = alice.messages()
        await alice.send_text(str(found.account_id), "bonjour le vélo")
        await receiver.wait_until(lambda r: len(inbound(r)) == 1, within=20)
        user_id = inbound(receiver)[0]["contacts"][0]["user_id"]
        sent = await bot.send({"recipient": user_id, "type": "text", "text": {"body": "bonjour Alice"}})
        assert sent.status_code == 200, sent.text
        assert (await next_message(stream)).text == "bonjour Alice"
    finally:
        child.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            await child.wait()
        await alice.close()
        await bot.aclose()
    again = await asyncio.to_thread(
        CliRunner().invoke, cli_app, ["business", "endpoint", "host", shop.business_id], env=env
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["mode"] == "hosted"
