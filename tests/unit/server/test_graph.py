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


def envelope(response: object) -> dict[str, object]:
    import json

    from starlette.responses import Response

    assert isinstance(response, Response)
    error = json.loads(bytes(response.body))["error"]
    assert isinstance(error, dict) and error["fbtrace_id"]
    return error


def test_a_bad_body_is_code_100_naming_the_field() -> None:
    from passerelle.proto.cloud.errors import CloudBodyError
    from passerelle.server.graph import error_of

    response = error_of(CloudBodyError("interactive.action.buttons[1].reply.id", "must be unique"))
    error = envelope(response)
    assert response.status_code == 400 and error["code"] == 100 and error["type"] == "OAuthException"
    assert error["message"] == "(#100) Param interactive.action.buttons[1].reply.id must be unique"
    assert error["error_data"] == {"details": "must be unique", "messaging_product": "whatsapp"}


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [("BAD_TOKEN", 401, 190), ("OUTSIDE_WINDOW", 400, 131047), ("MARKETING_STOPPED", 400, 131050),
     ("MESSAGING_LIMIT", 429, 131064), ("THROUGHPUT", 429, 130429), ("TEMPLATE_UNKNOWN", 400, 132001)],
)  # fmt: skip
def test_business_rule_failures_keep_their_cloud_codes(failure: str, status: int, code: int) -> None:
    from passerelle.domain.business.errors import CloudApiError, Failure
    from passerelle.server.graph import error_of

    response = error_of(CloudApiError(Failure[failure]))
    assert response.status_code == status and envelope(response)["code"] == code


def test_our_own_failures_are_graph_errors_too() -> None:
    from passerelle.domain.errors import InvalidInput, Unavailable
    from passerelle.server.graph import error_of

    assert envelope(error_of(InvalidInput("name: 1 to 128 characters")))["code"] == 100
    assert error_of(Unavailable("db down")).status_code == 503
    crashed = error_of(RuntimeError("boom"))
    assert crashed.status_code == 500 and "boom" not in bytes(crashed.body).decode()
