"""The OpenAPI descriptions (issue 11): generated from the routes' declarations, valid OpenAPI 3.1,
covering every HTTP route the server assembles, carrying the Structs' bounds, and served with
interactive docs under the web apps' CSP. The declarations also guard the handlers: a handler that
decodes another Struct, or asks for another token, than its route declares is a bug (500)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from passerelle.config import load_settings
from passerelle.proto.openapi import Auth, Info, Operation, document
from passerelle.proto.rest.conversations import OpenDirect, SetTimer
from passerelle.server.app import create_app
from passerelle.server.auth import require_operator
from passerelle.server.body_limit import BodyLimit
from passerelle.server.declared import DeclaredRoute, route, undeclared
from passerelle.server.graph import GraphPaths
from passerelle.server.rest.io import endpoint, read_body

ADMIN = "operator-secret-token-0123456789"


def served(tmp_path: Path) -> Starlette:
    return create_app(load_settings(None, data_dir=tmp_path, admin_token=ADMIN))


async def fetch(app: Starlette, path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://server") as http:
        return await http.get(path, headers=headers)


async def documents(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    app = served(tmp_path)
    people, business = await fetch(app, "/openapi.json"), await fetch(app, "/openapi/business.json")
    assert people.status_code == business.status_code == 200
    assert people.headers["content-type"] == "application/json"
    return people.json(), business.json()


async def test_both_documents_are_valid_openapi_3_1(tmp_path: Path) -> None:
    for doc in await documents(tmp_path):
        assert doc["openapi"] == "3.1.0"
        validate(doc)


async def test_every_http_route_is_declared_and_described(tmp_path: Path) -> None:
    app = served(tmp_path)
    people, business = await documents(tmp_path)
    described = {(m.upper(), p) for p, ops in people["paths"].items() for m in ops}
    declared = {(r.operation.method, r.operation.path) for r in app.routes if isinstance(r, DeclaredRoute)}
    assert described == declared
    not_api = {"/v1/ws", "/app/{app}", "/app/{app}/", "/app/{app}/theme.css", "/app/{app}/assets/{name}"}
    not_api |= {"/openapi.json", "/openapi/business.json", "/docs", "/docs/assets/{name}"}
    others = {getattr(r, "path", "") for r in app.routes if not isinstance(r, DeclaredRoute)}
    assert others == not_api, "every other route is an API route and needs a declaration"
    for method, path in [("POST", "/v1/conversations"), ("GET", "/v1/admin/reports"), ("GET", "/healthz")]:
        assert (method, path) in described
    graph = {(m.upper(), p) for p, ops in business["paths"].items() for m in ops}
    mounted = [m.kwargs["graph"] for m in app.user_middleware if m.cls is GraphPaths]  # type: ignore[comparison-overlap]
    assert len(mounted) == 1 and isinstance(mounted[0], BodyLimit)  # the Graph app, behind its body limit
    inner = mounted[0].app
    assert isinstance(inner, Starlette)
    graph_routes = [r for r in inner.routes if isinstance(r, DeclaredRoute)]
    assert len(graph_routes) == len(inner.routes)
    assert graph == {(r.operation.method, r.operation.path) for r in graph_routes}


def test_a_route_without_a_declaration_is_found() -> None:
    async def handler(request: Request) -> Response:
        return Response()

    assert undeclared([Route("/v1/things", handler, methods=["GET"])]) == ["['GET', 'HEAD'] /v1/things"]
    declared = route("GET", "/v1/things", handler, answers={200: None}, summary="Things")
    assert undeclared([declared]) == []


async def test_each_operation_names_its_token_and_errors(tmp_path: Path) -> None:
    people, business = await documents(tmp_path)
    ops = people["paths"]
    assert ops["/v1/me"]["get"]["security"] == [{"accountToken": []}]
    assert ops["/v1/accounts"]["post"]["security"] == []
    assert ops["/v1/admin/businesses"]["post"]["security"] == [{"adminToken": []}]
    assert set(people["components"]["securitySchemes"]) == {"accountToken", "adminToken"}
    error = ops["/v1/me"]["get"]["responses"]["default"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorBody"}
    graph = business["paths"]["/{phone_number_id}/block_users"]["post"]
    assert graph["security"] == [{"systemUserToken": []}]
    envelope = graph["responses"]["default"]["content"]["application/json"]["schema"]
    assert envelope == {"$ref": "#/components/schemas/ErrorEnvelope"}
    pnid = graph["parameters"][0]
    assert pnid["in"] == "path" and pnid["schema"]["pattern"] == "^[0-9]{1,32}$"


async def test_the_structs_bounds_are_in_the_schemas(tmp_path: Path) -> None:
    people, business = await documents(tmp_path)
    schemas = people["components"]["schemas"]
    assert schemas["CodeRequest"]["properties"]["phone"] == {"type": "string", "maxLength": 128}
    assert schemas["CodeRequest"]["additionalProperties"] is False  # request bodies refuse unknown members
    profile = business["components"]["schemas"]["BusinessProfile"]["properties"]
    assert {"type": "string", "maxLength": 139} in profile["about"]["anyOf"]
    users = business["components"]["schemas"]["BlockUsersRequest"]["properties"]["block_users"]
    assert any(s.get("maxItems") == 1000 for s in users["anyOf"])


def test_two_declarations_of_one_operation_are_refused() -> None:
    one = Operation(method="GET", path="/v1/things/{a}", summary="A", answers={200: None})
    two = Operation(method="GET", path="/v1/things/{b}", summary="B", answers={200: None})
    with pytest.raises(ValueError, match="declared twice"):
        document([one, two], Info(title="t", version="1", description=""))
    with pytest.raises(ValueError, match="no path parameter"):
        Operation(method="GET", path="/v1/x", summary="", answers={200: None}, path_params={"y": None})  # type: ignore[dict-item]


class Drifted:
    @endpoint
    async def decodes_another_struct(self, request: Request) -> Response:
        await read_body(request, SetTimer)
        return Response(status_code=204)

    @endpoint
    async def asks_for_another_token(self, request: Request) -> Response:
        require_operator(request, ADMIN, api="admin")
        return Response(status_code=204)


async def test_a_handler_that_drifts_from_its_declaration_fails_loudly() -> None:
    d = Drifted()
    app = Starlette(
        routes=[
            route("POST", "/a", d.decodes_another_struct, body=OpenDirect, answers={204: None}, summary="A"),
            route(
                "POST", "/b", d.asks_for_another_token, auth=Auth.ACCOUNT, answers={204: None}, summary="B"
            ),
        ]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://server") as http:
        wrong_body = await http.post("/a", json={"timer": 5})
        wrong_token = await http.post("/b", headers={"Authorization": f"Bearer {ADMIN}"})
    assert wrong_body.status_code == wrong_token.status_code == 500
    assert msgspec.json.decode(wrong_body.content) == {
        "error": {"code": "internal", "message": "internal server error"}
    }


async def test_the_interactive_docs_are_served_from_this_server(tmp_path: Path) -> None:
    app = served(tmp_path)
    page = await fetch(app, "/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "'unsafe-eval'" not in csp
    scripts = ["/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui-standalone-preset.js"]
    for path in [*scripts, "/docs/assets/api-docs.js", "/docs/assets/swagger-ui.css"]:
        assert path in page.text
        asset = await fetch(app, path, **{"accept-encoding": "gzip"})
        assert asset.status_code == 200, path
        assert asset.headers["content-type"].split(";")[0] in ("text/javascript", "text/css")
    init = await fetch(app, "/docs/assets/api-docs.js")
    assert '"/openapi.json"' in init.text and '"/openapi/business.json"' in init.text
    assert "validatorUrl: null" in init.text  # no request to the public validator
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from another origin
    missing = await fetch(app, "/docs/assets/app.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
