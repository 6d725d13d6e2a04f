"""The REST edge of accounts, devices, keys and the directory (docs/protocol.md section 4, except
conversations and operations, which ``server.app`` adds).

Wiring, in ``server.app``::

    routes = rest_routes(RestServices(accounts=..., keys=..., directory=..., apps=..., limits=...))
    app = Starlette(routes=routes + other_routes,
                    exception_handlers={HTTPException: http_exception_handler})
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from passerelle.server.rest.accounts import AccountRoutes
from passerelle.server.rest.io import RestServices
from passerelle.server.rest.keys import KeyRoutes

__all__ = ["RestServices", "rest_routes"]


def rest_routes(services: RestServices) -> list[BaseRoute]:
    return [*AccountRoutes(services).routes(), *KeyRoutes(services).routes()]
