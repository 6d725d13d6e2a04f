"""The HTTP APIs' descriptions, generated from the routes' declarations (``server.declared``), and
their interactive documentation.

- ``GET /openapi.json``: OpenAPI 3.1 of Passerelle's REST API (people's apps and the operator's admin
  API; errors are docs/protocol.md section 2's body).
- ``GET /openapi/business.json``: OpenAPI 3.1 of the Graph-style Business API (docs/business.md;
  system-user tokens, the Graph error envelope, paths also served under ``/v<major>.<minor>``).
- ``GET /docs``: Swagger UI over both (a selector at the top), served from this server's own files
  (``swagger-ui-dist`` from npm, vendored by ``web/build.mjs``), under the web apps' strict CSP: no
  CDN, no inline script.

The documents are built once, on first request, from the same ``Operation`` values the routes decode
with, so they change with the code and with nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from passerelle import __version__
from passerelle.proto.openapi import Info, Operation, document
from passerelle.server.web import CONTENT_TYPES, CSP, WebApps

OPENAPI_PATH = "/openapi.json"
BUSINESS_OPENAPI_PATH = "/openapi/business.json"
DOCS_PATH = "/docs"
ASSETS = {
    "swagger-ui-bundle.js": CONTENT_TYPES[".js"],
    "swagger-ui-standalone-preset.js": CONTENT_TYPES[".js"],
    "swagger-ui.css": CONTENT_TYPES[".css"],
    "api-docs.js": CONTENT_TYPES[".js"],
}
"""The files of the docs page (in the package's ``web`` folder)."""

PEOPLE = Info(
    title="Passerelle REST API",
    version=__version__,
    description=(
        "The REST API of Passerelle: what people's apps call (accounts, devices, keys, the directory, "
        "conversations, groups, media, stories, privacy, businesses and consents) and the operator's "
        "admin API. Message traffic goes over the WebSocket at `/v1/ws` (docs/protocol.md section 5), "
        'which OpenAPI does not describe. Every error is `{"error": {"code", "message", ...}}` '
        "(docs/protocol.md section 2). Generated from the server's route declarations."
    ),
)
BUSINESS = Info(
    title="Passerelle Business API (WhatsApp Cloud API compatible)",
    version=__version__,
    description=(
        "The Graph-style Business API (docs/business.md): a business's bot calls it with a system-user "
        "token. Every path is also served after a `/v<major>.<minor>` prefix (its value is ignored), "
        "as the Cloud API's are, e.g. `/v21.0/{phone_number_id}/block_users`. Every error is the "
        'Graph envelope `{"error": {"message", "type", "code", "error_subcode", '
        '"error_data", "fbtrace_id"}}`. Generated from the server\'s route declarations.'
    ),
)

SWAGGER_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"
"""The one inline style Swagger UI applies (5.35.0), allowed by its hash; tests/browser/test_api_docs.py
fails, naming the new hash, when an upgrade changes it."""
DOCS_CSP = CSP.replace("style-src 'self'", f"style-src 'self' 'unsafe-hashes' {SWAGGER_STYLE}")
"""The web apps' CSP (server.web), with that one style allowed: scripts only from this origin, none
inline, no framing, connections only to this server."""

PAGE = b"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Passerelle API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/assets/api-docs.js"></script>
</body>
</html>
"""


class ApiDocs:
    """The two OpenAPI documents and the docs page; the page's files are read as the web apps' are."""

    def __init__(self, *, people: Sequence[Operation], business: Sequence[Operation], files: WebApps) -> None:
        self._people = list(people)
        self._business = list(business)
        self._files = files
        self._documents: dict[str, bytes] = {}

    def documents(self) -> dict[str, dict[str, Any]]:
        """Path -> OpenAPI document."""
        return {
            OPENAPI_PATH: document(self._people, PEOPLE),
            BUSINESS_OPENAPI_PATH: document(self._business, BUSINESS),
        }

    def routes(self) -> list[BaseRoute]:
        return [
            Route(OPENAPI_PATH, self.openapi, methods=["GET"]),
            Route(BUSINESS_OPENAPI_PATH, self.openapi, methods=["GET"]),
            Route(DOCS_PATH, self.page, methods=["GET"]),
            Route(DOCS_PATH + "/assets/{name}", self.asset, methods=["GET"]),
        ]

    async def openapi(self, request: Request) -> Response:
        path = request.url.path
        if not self._documents:
            self._documents = {p: msgspec.json.encode(d) for p, d in self.documents().items()}
        return Response(
            self._documents[path],
            media_type="application/json",
            headers={"Cache-Control": "no-cache"},
        )

    async def page(self, request: Request) -> Response:
        page = await self._files.send(request, "api-docs.html", PAGE, CONTENT_TYPES[".html"])
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    async def asset(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        content_type = ASSETS.get(name)
        if content_type is None:
            raise HTTPException(404)
        return await self._files.send(request, name, await self._files.read(name), content_type)
