"""Query parameters are read through their route's declaration (``server.declared.query_value``):
converted to the declared type with its bounds, and refused with ``invalid_input`` naming the
parameter. Found by schemathesis: ``GET /v1/admin/reports?before=<a 29-digit number>`` reached the
database as an integer SQLite cannot hold and answered 500."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ServerHandle

ADMIN = "operator-secret-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
pytestmark = pytest.mark.settings(admin_token=ADMIN)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("before=23848720729869029011236061184", "before"),
        ("before=-1", "before"),
        ("before=soon", "before"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
    ],
)
async def test_out_of_range_query_parameters_are_refused_by_name(
    server: ServerHandle, query: str, named: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.get(f"/v1/admin/reports?{query}", headers=AUTH)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input" and error["message"].startswith(f"{named}: ")


async def test_the_reports_page_within_the_bounds(server: ServerHandle) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        for query in ("", "?limit=1", "?limit=500&before=9223372036854775807", "?before=0"):
            answer = await http.get(f"/v1/admin/reports{query}", headers=AUTH)
            assert answer.status_code == 200, (query, answer.text)
            assert answer.json() == {"reports": []}
