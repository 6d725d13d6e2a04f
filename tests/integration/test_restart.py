"""A server stopped and restarted between send and delivery loses and duplicates nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from passerelle.server.runner import running_server
from tests.conftest import CodeInbox, make_settings
from tests.integration.wire import envelope, register_photo


async def test_accepted_messages_survive_a_restart_exactly_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    async with running_server(make_settings(data_dir), code_sender=CodeInbox()) as first:
        async with httpx.AsyncClient(base_url=first.url) as http:
            alice = await register_photo(http, "alice")
            bob = await register_photo(http, "bob")
        await alice.connect()
        for n in range(50):
            payloads = {bob.device_id: envelope(str(n))}
            await alice.send({"t": "send", "id": f"m{n}", "to": bob.account, "payloads": payloads})
        acked = {(await alice.next("sent"))["id"] for _ in range(50)}
        assert len(acked) == 50
        await alice.close()
    # A new process on the same data directory.
    async with running_server(make_settings(data_dir), code_sender=CodeInbox()) as second:
        for person in (alice, bob):
            person.base_url, person.ws_url = second.url, second.ws_url
        await bob.connect()
        items = await bob.items(50)
        assert [i["body"]["ciphertext"]["x"]["body"] for i in items] == [str(n) for n in range(50)]
        assert len({i["mid"] for i in items}) == 50
        # Alice retries a send whose ack she might have missed: the server remembers it.
        await alice.connect()
        await alice.send(
            {"t": "send", "id": "m7", "to": bob.account, "payloads": {bob.device_id: envelope("again")}}
        )
        assert (await alice.next("sent"))["mid"] == items[7]["mid"]
        await bob.send({"t": "ack", "upto": items[-1]["pos"]})
        await bob.send({"t": "ping"})
        await bob.next("pong")
        await bob.close()
        await bob.connect()
        with pytest.raises(TimeoutError):
            await bob.next("deliver", within=0.3)
        await alice.close()
        await bob.close()
