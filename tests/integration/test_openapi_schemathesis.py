"""The served OpenAPI documents hold against the real server (issue 11): schemathesis runs every
operation of both (the people's REST API with the admin API, and the Graph-style Business API) with
generated valid and invalid cases, each with the token its operation declares; no answer may be a
5xx, have a status the document does not declare, or a body that does not match its schema.

A few cases per operation here (``PASSERELLE_API_FUZZ_EXAMPLES``); ``python3 dev.py fuzz-api N`` runs
N per operation and mode."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import ServerHandle
from tests.integration.api_fuzz import ADMIN, STATUSES, fuzz, seed

pytestmark = [pytest.mark.settings(admin_token=ADMIN), pytest.mark.timeout(0)]


@pytest.mark.parametrize("path", ["/openapi.json", "/openapi/business.json"])
async def test_every_operation_answers_as_its_description_says(server: ServerHandle, path: str) -> None:
    seeded = await seed(server.url)
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(path)
    assert response.status_code == 200
    failures = await asyncio.to_thread(fuzz, server.url, response.json(), seeded)
    for label, statuses in sorted(STATUSES.items()):  # shown with -s (dev.py fuzz-api)
        print(f"{label}: {sorted(statuses)}")
    assert not failures, "\n\n".join(failures)
