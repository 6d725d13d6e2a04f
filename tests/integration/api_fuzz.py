"""schemathesis against the real server, from the OpenAPI documents the server serves.

``seed`` makes what the operations need to get past authentication (a person's token, a second
person, a group, a business with a number and a system-user token); ``fuzz`` runs every operation of
a document with schemathesis' generated cases, valid and invalid, each with the token its operation
declares, and, for half of the cases, the path parameters replaced by objects that exist, so that
the handlers' happy paths run as well as their refusals. It returns every failure: a 5xx, a status
the document does not declare, a body or content type that does not match the declared schema.

Synchronous (schemathesis calls with requests): the async tests run it in a thread, because the
server under test runs on their event loop.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.unit.service.fakes import TestDevice

ADMIN = "operator-admin-token-for-the-fuzzer-0123"
PASSWORD = "correct horse battery"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("PASSERELLE_API_FUZZ_EXAMPLES", "6"))
"""Cases per operation and generation mode: a few in CI; ``dev.py fuzz-api N`` runs more."""


STATUSES: dict[str, set[int]] = {}
"""Every status each operation answered (for a report of what the run reached)."""


@dataclass
class Seeded:
    """Tokens by security scheme, and existing objects by path-parameter name."""

    tokens: dict[str, str]
    known: dict[str, str] = field(default_factory=dict)
    """Never the fuzzer's own device or token ids: deleting them would turn every later case into
    a 401."""


async def _register(http: httpx.AsyncClient, handle: str) -> dict[str, Any]:
    body = {"app": "photo", "handle": handle, "password": PASSWORD, "device": TestDevice().keys_json()}
    response = await http.post("/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def seed(url: str) -> Seeded:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(base_url=url) as http:
        me = await _register(http, "fuzzer")
        other = await _register(http, "fuzzed")
        mine = {"Authorization": f"Bearer {me['token']}"}
        group = await http.post("/v1/groups", json={"members": [other["account_id"]]}, headers=mine)
        assert group.status_code == 201, group.text
        conv = group.json()["conv"]
        invite = await http.post(f"/v1/groups/{conv}/invites", headers=mine)
        assert invite.status_code == 201, invite.text
        upload = await http.post("/v1/media/uploads", json={"size": 16, "conv": conv}, headers=mine)
        assert upload.status_code == 201, upload.text
        shop = await http.post(
            "/v1/admin/businesses", json={"slug": "fuzz-shop", "name": "Fuzz"}, headers=admin
        )
        assert shop.status_code == 201, shop.text
        business = shop.json()["business_id"]
        account = await http.post(f"/v1/admin/businesses/{business}/accounts", json={}, headers=admin)
        number = await http.post(
            f"/v1/admin/businesses/{business}/numbers",
            json={"waba_id": account.json()["waba_id"], "display_number": "+33123456789"},
            headers=admin,
        )
        assert number.status_code == 201, number.text
        token = await http.post(
            f"/v1/admin/businesses/{business}/tokens", json={"label": "bot"}, headers=admin
        )
        assert token.status_code == 201, token.text
    return Seeded(
        tokens={"accountToken": me["token"], "adminToken": ADMIN, "systemUserToken": token.json()["token"]},
        known={
            "account_id": other["account_id"],
            "account": other["account_id"],
            "conv": conv,
            "invite": invite.json()["invite_id"],
            "blob": upload.json()["blob"],
            "business": business,
            "scope": "marketing",
            "phone_number_id": number.json()["phone_number_id"],
        },
    )


def _headers(operation: Any, tokens: Mapping[str, str]) -> dict[str, str]:
    for requirement in operation.definition.raw.get("security", []):
        for scheme in requirement:
            return {"Authorization": f"Bearer {tokens[scheme]}"}
    return {}


def fuzz(url: str, document: dict[str, Any], seeded: Seeded, *, examples: int = EXAMPLES) -> list[str]:
    """Every failure schemathesis finds in ``document``'s operations (empty: none)."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    found = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    # Deletions last, so that what they remove (an upload, an invite) is there for the others first.
    for operation in sorted(found, key=lambda op: op.method.upper() == "DELETE"):
        headers = _headers(operation, seeded.tokens)
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            run = _runner(operation, mode, url, headers, seeded.known, examples)
            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                pass  # nothing to make invalid: no parameter, no body
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures


def _runner(
    operation: Any, mode: Any, url: str, headers: dict[str, str], known: Mapping[str, str], examples: int
) -> Callable[[], None]:
    patterns = {
        p["name"]: p["schema"]["pattern"]
        for p in operation.definition.raw.get("parameters", [])
        if p["in"] == "path" and "pattern" in p.get("schema", {})
    }

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    def run(case: Any, real: bool) -> None:
        # A path that its parameters' patterns no longer match is routed elsewhere (a Graph path
        # must start with digits): it is not a request of this operation.
        hypothesis.assume(
            all(re.fullmatch(p, str((case.path_parameters or {}).get(n, ""))) for n, p in patterns.items())
        )
        if real and case.path_parameters:
            for name in case.path_parameters:
                if name in known:
                    case.path_parameters[name] = known[name]
        # A generous timeout: on a loaded machine a slow answer is not a failure of the API (a
        # timeout that does not repeat makes hypothesis report a flaky test).
        response = case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=60)
        STATUSES.setdefault(operation.label, set()).add(response.status_code)

    return run
