"""The SDK logs in on the WebSocket (docs/protocol.md section 4.5) when the server refuses its saved
token: the connection comes up with a new token, which REST calls then use, and which is saved for
the next start."""

from __future__ import annotations

from pathlib import Path

from passerelle.sdk import Client
from tests.conftest import ServerHandle

ALICE = "+33612345670"
BOB = "+33612345671"


async def test_a_refused_token_is_renewed_on_the_websocket_and_serves_rest_too(
    server: ServerHandle, tmp_path: Path
) -> None:
    alice = await server.register_phone(tmp_path / "alice", ALICE, display_name="Alice")
    bob = await server.register_phone(tmp_path / "bob", BOB, display_name="Bob")
    await alice.close()
    # The saved token is one the server never issued (as after a revocation).
    alice = await Client.open(tmp_path / "alice", server_url=server.url)
    _, expires_at = await alice._store.token() or ("", 0)
    await alice._store.save_token("not-a-token-the-server-knows", expires_at)
    await alice.connect()
    saved = await alice._store.token()
    assert saved is not None and saved[0] != "not-a-token-the-server-knows"
    # REST works with the token the welcome brought, without another login over REST.
    assert alice._rest.token == saved[0]
    assert (await alice.lookup("chat:" + BOB)).account_id == bob.account_id
    await alice.send_text(bob.account_id, "Bonjour Bob")
    await alice.close()
    await bob.close()
    requests = server.log_file.read_text("utf-8")
    assert "/v1/accounts" in requests  # the access log names paths
    assert "/v1/auth/" not in requests  # no login over REST: it happened on the WebSocket
