"""Routes bound to their declaration (``proto.openapi.Operation``): the one place the server learns a
route's method, path, bodies and authentication, and the source of the OpenAPI description.

``route(method, path, handler, ...)`` is a Starlette ``Route`` that carries its ``Operation`` and
puts it in the request's scope, so that ``read_body`` decodes with the declared Struct (and refuses
to decode another) and the authentication helpers check that the token they ask for is the one
declared. ``server.app`` refuses to assemble an HTTP route that is not declared (or excluded by
name in ``UNDECLARED``), and ``server.apidocs`` serves the documents generated from the declarations.
Adding an endpoint is one call::

    route("POST", "/v1/things", self.create, body=wire.NewThing, answers={201: wire.Thing},
          summary="Create a thing", tag="Things")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute
from starlette.types import Scope

from passerelle.domain.errors import InvalidInput
from passerelle.proto.cloud.responses import ErrorEnvelope
from passerelle.proto.openapi import Answer, Auth, Operation, Param, Raw, path_names
from passerelle.proto.rest.errors import ErrorBody

OPERATION = "passerelle.operation"
"""The scope key of the matched route's ``Operation``."""

GRAPH_OBJECT_ID = Param(
    Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,32}$", description="A Graph object id (digits)")],
    required=True,
)


class DeclaredRoute(Route):
    """A Starlette route with its ``Operation``, which it adds to the scope of the requests it takes."""

    def __init__(self, operation: Operation, endpoint: Callable[..., Any]) -> None:
        super().__init__(operation.path, endpoint, methods=[operation.method])
        self.operation = operation

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.FULL:
            child[OPERATION] = self.operation
        return match, child


def route(
    method: str,
    path: str,
    handler: Callable[..., Any],
    *,
    summary: str,
    answers: Mapping[int, Answer],
    body: type[msgspec.Struct] | Raw | None = None,
    body_required: bool = True,
    auth: Auth = Auth.ACCOUNT,
    tag: str = "",
    description: str = "",
    path_params: Mapping[str, Param] | None = None,
    query: Mapping[str, Param] | None = None,
    headers: Mapping[str, Param] | None = None,
    error: type[msgspec.Struct] = ErrorBody,
) -> DeclaredRoute:
    """A route of the REST API and its declaration (errors are docs/protocol.md section 2's body)."""
    operation = Operation(
        method=method,
        path=path,
        summary=summary,
        answers=answers,
        body=body,
        body_required=body_required,
        auth=auth,
        tag=tag,
        description=description,
        path_params=path_params or {},
        query=query or {},
        headers=headers or {},
        error=error,
    )
    return DeclaredRoute(operation, handler)


def graph_route(
    method: str,
    path: str,
    handler: Callable[..., Any],
    *,
    summary: str,
    answers: Mapping[int, Answer],
    body: type[msgspec.Struct] | Raw | None = None,
    tag: str = "Business API",
    description: str = "",
    query: Mapping[str, Param] | None = None,
) -> DeclaredRoute:
    """A route of the Graph-style Business API: system-user token, the Graph error envelope, and
    every ``{..._id}`` of the path an object id (digits)."""
    ids = {name: GRAPH_OBJECT_ID for name in path_names(path)}
    return route(
        method,
        path,
        handler,
        summary=summary,
        answers=answers,
        body=body,
        auth=Auth.SYSTEM_USER,
        tag=tag,
        description=description,
        path_params=ids,
        query=query,
        error=ErrorEnvelope,
    )


def declared(request: Request) -> Operation | None:
    """The declaration of the route that took ``request`` (None outside a declared route)."""
    found: Operation | None = request.scope.get(OPERATION)
    return found


def query_value(request: Request, name: str) -> Any:
    """The query parameter ``name``, converted to the type its route declares (bounds included),
    or None when it is absent; InvalidInput names it when it is not of that type."""
    op = declared(request)
    param = None if op is None else op.query.get(name)
    if param is None:
        raise AssertionError(f"{request.url.path}: the query parameter {name!r} is not declared")
    raw = request.query_params.get(name)
    if raw is None:
        if param.required:
            raise InvalidInput(f"{name}: required")
        return None
    try:
        return msgspec.convert(raw, param.type, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"{name}: {exc}") from None


def check_body(request: Request, kind: type[msgspec.Struct]) -> None:
    """A handler decodes its body with the Struct its route declares: anything else is a bug."""
    op = declared(request)
    if op is not None and op.body is not kind:
        raise AssertionError(f"{op.method} {op.path} decodes {kind.__name__} but declares {op.body!r}")


def check_auth(request: Request, auth: Auth) -> None:
    """A handler asks for the token its route declares: anything else is a bug."""
    op = declared(request)
    if op is not None and op.auth is not auth:
        raise AssertionError(f"{op.method} {op.path} asks for {auth.value} but declares {op.auth.value}")


def operations(routes: Iterable[BaseRoute]) -> list[Operation]:
    """The declarations of ``routes`` (mounted apps' routes included)."""
    found: list[Operation] = []
    for r in routes:
        if isinstance(r, DeclaredRoute):
            found.append(r.operation)
        elif isinstance(r, Mount):
            found += operations(r.routes)
    return found


def undeclared(routes: Iterable[BaseRoute]) -> list[str]:
    """The HTTP routes of ``routes`` that carry no declaration."""
    missing: list[str] = []
    for r in routes:
        if isinstance(r, Mount):
            missing += undeclared(r.routes)
        elif not isinstance(r, DeclaredRoute | WebSocketRoute):
            missing.append(f"{sorted(getattr(r, 'methods', None) or [])} {getattr(r, 'path', r)}")
    return missing
