"""The browser apps, served by the server itself (docs/protocol.md section 13; no CDN, works offline).

``GET /app/<name>/`` is the page of app ``<name>`` (an app of the configuration), ``/app/<name>/theme.css``
its colours, and ``/app/<name>/assets/<file>`` the built assets every app shares (the page script,
its stylesheet and the Olm WebAssembly). The assets are built from ``web/`` in the repository into
the package folder ``passerelle/web`` and committed, so a machine with only Python serves them. The
page learns the rest of its app (identity scheme, features) from ``GET /v1/apps``.

Pages and assets are sent gzip-compressed to a browser that accepts it (compressed once, on first use).
The pages run under a strict Content Security Policy: scripts, styles and connections only from this
origin (WebAssembly allowed), no inline script, no framing.
"""

from __future__ import annotations

import asyncio
import gzip
import html
import re
from importlib import resources
from importlib.resources.abc import Traversable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from passerelle.domain.apps import App, AppRegistry

PREFIX = "/app"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".wasm": "application/wasm",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_COLOR = re.compile(r"^#[0-9a-fA-F]{3,8}$|^[a-z]{3,20}$")
_ASSET = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)+$")


def assets_folder() -> Traversable:
    return resources.files("passerelle").joinpath("web")


class WebApps:
    """Serves each configured app's page; files are read once, on first use, off the event loop."""

    def __init__(self, apps: AppRegistry, folder: Traversable | None = None) -> None:
        self.apps = apps
        self.folder = folder if folder is not None else assets_folder()
        self._files: dict[str, bytes] = {}
        self._gzipped: dict[str, bytes] = {}
        self._lock = asyncio.Lock()

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PREFIX + "/{app}", self.bare, methods=["GET"]),
            Route(PREFIX + "/{app}/", self.page, methods=["GET"]),
            Route(PREFIX + "/{app}/theme.css", self.theme, methods=["GET"]),
            Route(PREFIX + "/{app}/assets/{name}", self.asset, methods=["GET"]),
        ]

    def _app(self, request: Request) -> App:
        app = self.apps.get(str(request.path_params["app"]))
        if app is None:
            raise HTTPException(404)
        return app

    async def read(self, name: str) -> bytes:
        async with self._lock:
            if name not in self._files:
                file = self.folder.joinpath(name)
                if not _ASSET.match(name) or not await asyncio.to_thread(file.is_file):
                    raise HTTPException(404)
                self._files[name] = await asyncio.to_thread(file.read_bytes)
            return self._files[name]

    async def send(self, request: Request, name: str, data: bytes, content_type: str) -> Response:
        """The file as is, or gzip-compressed when the browser accepts it."""
        headers = {**PAGE_HEADERS, "Vary": "Accept-Encoding"}
        if "gzip" not in request.headers.get("accept-encoding", ""):
            return Response(data, media_type=content_type, headers=headers)
        if name not in self._gzipped:
            self._gzipped[name] = await asyncio.to_thread(gzip.compress, data, 9, mtime=0)
        headers["Content-Encoding"] = "gzip"
        return Response(self._gzipped[name], media_type=content_type, headers=headers)

    async def bare(self, request: Request) -> Response:
        app = self._app(request)
        return RedirectResponse(f"{PREFIX}/{app.name}/", status_code=308)

    async def page(self, request: Request) -> Response:
        app = self._app(request)
        template = (await self.read("index.html")).decode()
        page = template.replace("{{app}}", html.escape(app.name)).replace(
            "{{title}}", html.escape(app.display_name)
        )
        return await self.send(request, f"{app.name}/index.html", page.encode(), CONTENT_TYPES[".html"])

    async def theme(self, request: Request) -> Response:
        app = self._app(request)
        lines = [
            f"  --{name}: {value};"
            for name, value in sorted(app.colors.items())
            if re.match(r"^[a-z][a-z0-9-]{0,30}$", name) and _COLOR.match(value)
        ]
        css = ":root {\n" + "\n".join(lines) + "\n}\n"
        return Response(css, media_type=CONTENT_TYPES[".css"], headers=PAGE_HEADERS)

    async def asset(self, request: Request) -> Response:
        self._app(request)
        name = str(request.path_params["name"])
        if name == "index.html":
            raise HTTPException(404)
        suffix = name[name.rfind(".") :]
        content_type = CONTENT_TYPES.get(suffix)
        if content_type is None:
            raise HTTPException(404)
        return await self.send(request, name, await self.read(name), content_type)
