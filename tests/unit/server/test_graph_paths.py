"""Which paths the Graph-style API claims (an object id first, after an optional version)."""

from __future__ import annotations

import pytest

from passerelle.server.graph import GRAPH_PATH


@pytest.mark.parametrize(
    ("path", "inner"),
    [
        ("/v26.0/106540352242922/messages", "/106540352242922/messages"),
        ("/v17.0/106540352242922", "/106540352242922"),
        ("/106540352242922/whatsapp_business_profile", "/106540352242922/whatsapp_business_profile"),
        ("/1037543291543636", "/1037543291543636"),
        ("/106540352242922/", "/106540352242922/"),
    ],
)
def test_graph_paths(path: str, inner: str) -> None:
    match = GRAPH_PATH.match(path)
    assert match is not None and match[1] == inner


@pytest.mark.parametrize(
    "path",
    ["/v1/accounts", "/v1/me", "/healthz", "/app/chat/", "/v1.0", "/v26.0/", "/v26/123", "/12a/b", "/"],
)
def test_other_paths_are_left_alone(path: str) -> None:
    assert GRAPH_PATH.match(path) is None
