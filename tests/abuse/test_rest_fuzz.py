"""Every REST route of the real server, fed what an attacker would send: random JSON of every shape,
near-valid bodies built from the protocol's own member names, raw bytes, hostile path parameters,
with no token, a forged one and a real one. Whatever arrives, the answer is a clear error in the
protocol's envelope — never a 5xx, never a hang — and the server goes on serving everyone else."""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.abuse.conftest import LiveServer

# Member names that appear in the protocol's request bodies (docs/protocol.md), so that drawn bodies
# get past "unknown member" and reach deeper validation.
MEMBERS = [
    "app", "phone", "code", "handle", "username", "password", "display_name", "device", "name",
    "curve25519", "ed25519", "signature", "keys", "one_time_keys", "fallback", "key_id", "key",
    "device_id", "challenge", "with", "members", "member", "conv", "account", "accounts", "invite",
    "token", "findability", "who_can_message", "read_receipts", "last_seen", "messages", "reason",
    "size", "content_type", "kind", "audience", "blob", "cross_app", "q", "ids", "timer", "decline",
    "block", "proof", "limit", "since",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80)
    | st.sampled_from(["", "photo", "chat", "social", "+33612345678", "everyone", "nobody", "\x00", "é" * 40])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=25,
)
near_valid = st.dictionaries(st.sampled_from(MEMBERS), json_values, max_size=8)
path_params = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=40),
    st.text(min_size=1, max_size=40),
    st.sampled_from(["..", "%2e%2e", "a_" + "A" * 22, "g_" + "A" * 22, "0", "-1", "🦜"]),
)


def _fill(template: str, values: list[str]) -> str:
    path, i = template, 0
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + quote(values[i % len(values)], safe="") + path[end + 1 :]
        i += 1
    return path


def _assert_clear_error(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what} -> {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        error = response.json()["error"]  # the protocol's envelope (docs/protocol.md section 2)
        assert isinstance(error["code"], str) and error["code"], what
        assert isinstance(error["message"], str), what


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> Any:
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        yield client


@given(data=st.data())
def test_no_body_makes_the_server_fail(
    live_server: LiveServer, http: httpx.Client, data: st.DataObject
) -> None:
    template, method = data.draw(st.sampled_from(live_server.routes), label="route")
    path = _fill(template, data.draw(st.lists(path_params, min_size=1, max_size=3), label="params"))
    token = data.draw(st.sampled_from(["", "forged", live_server.token]), label="token")
    headers = (
        {"Authorization": f"Bearer {token}" if token != "forged" else "Bearer " + "x" * 43} if token else {}
    )
    kind = data.draw(st.sampled_from(["json", "near_valid", "bytes", "deep", "none"]), label="body kind")
    content: bytes | None
    if kind == "json":
        content = httpx.Request("POST", "/", json=data.draw(json_values)).content
    elif kind == "near_valid":
        content = httpx.Request("POST", "/", json=data.draw(near_valid)).content
    elif kind == "bytes":
        content = data.draw(st.binary(max_size=2048))
    elif kind == "deep":  # nesting deeper than a recursive decoder's stack, under the body limit
        depth = data.draw(st.integers(1, 30_000))
        content = b'{"app": ' + b"[" * depth + b"]" * depth + b"}"
    else:
        content = None
    if content is not None:
        headers["Content-Type"] = data.draw(
            st.sampled_from(["application/json", "application/octet-stream", "text/plain; charset=latin-1"])
        )
    response = http.request(method, path, content=content, headers=headers)
    _assert_clear_error(response, f"{method} {path} ({kind})")


def test_the_server_still_serves_after_the_fuzzing(live_server: LiveServer, http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200
    me = http.get("/v1/me", headers={"Authorization": f"Bearer {live_server.token}"})
    # The fuzzer may have logged the device out (a drawn body can be a valid request): either the
    # account answers, or the token is refused cleanly; the server itself is never down.
    assert me.status_code in {200, 401}, me.text
