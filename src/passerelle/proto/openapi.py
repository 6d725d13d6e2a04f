"""Every HTTP operation, declared once, and the OpenAPI 3.1 document generated from the declarations.

An ``Operation`` names a route's method and path, the Struct its body is decoded into, the Struct
of each answer by status, who may call it and a one-line summary. The server binds each declaration
to its handler (``server.declared.route``), decodes bodies with the declared Struct and refuses to
start a route without one; ``document`` turns the same declarations into the OpenAPI description,
with the schemas msgspec derives from the Structs (``msgspec.Meta`` bounds included), so the
description cannot say anything the server does not check. Pure: no I/O, only msgspec.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{name}"
_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


def path_names(path: str) -> list[str]:
    """The parameters of a path template (``/v1/groups/{conv}`` -> ``["conv"]``)."""
    return _PATH_PARAM.findall(path)


class Auth(enum.Enum):
    """Who may call an operation: the bearer token it takes (its OpenAPI security scheme)."""

    NONE = "none"
    ACCOUNT = "accountToken"
    """A device's token (``POST /v1/accounts``, ``/v1/devices`` or ``/v1/auth/token``)."""
    ADMIN = "adminToken"
    """The operator's ``admin_token`` (server configuration)."""
    SYSTEM_USER = "systemUserToken"
    """A business's system-user token (admin API ``.../tokens``); also as ``?access_token=``."""


SECURITY_SCHEMES: Mapping[Auth, Mapping[str, str]] = {
    Auth.ACCOUNT: {
        "type": "http",
        "scheme": "bearer",
        "description": "A device's access token: `Authorization: Bearer <token>` (docs/protocol.md §4).",
    },
    Auth.ADMIN: {
        "type": "http",
        "scheme": "bearer",
        "description": "The operator's admin token (`admin_token` in the server's settings).",
    },
    Auth.SYSTEM_USER: {
        "type": "http",
        "scheme": "bearer",
        "description": "A business's system-user token (docs/business.md): "
        "`Authorization: Bearer <token>`, or `?access_token=<token>` as the Graph API allows.",
    },
}


@dataclass(frozen=True, slots=True)
class Raw:
    """A body that is not JSON: bytes of ``media_type`` (ciphertext chunks, metrics text)."""

    media_type: str = "application/octet-stream"
    description: str = ""


@dataclass(frozen=True, slots=True)
class Param:
    """A query or header parameter: its type (``Annotated`` with ``msgspec.Meta`` for bounds)."""

    type: Any = str
    required: bool = False
    description: str = ""


Answer = type[msgspec.Struct] | Raw | None
"""An answer's body: a Struct (JSON), raw bytes, or nothing (204)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """One route of the HTTP API, as the server serves it and the description tells it."""

    method: str
    path: str
    summary: str
    answers: Mapping[int, Answer]
    """Each success status and its body; errors are ``error`` (the ``default`` response)."""
    body: type[msgspec.Struct] | Raw | None = None
    body_required: bool = True
    auth: Auth = Auth.ACCOUNT
    error: type[msgspec.Struct] | None = None
    """The body of every error answer (the API's error envelope)."""
    tag: str = ""
    description: str = ""
    path_params: Mapping[str, Param] = field(default_factory=dict)
    """Types of path parameters other than plain strings (every ``{name}`` is one)."""
    query: Mapping[str, Param] = field(default_factory=dict)
    headers: Mapping[str, Param] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method != self.method.upper():
            raise ValueError(f"{self.method} {self.path}: the method is upper case")
        unknown = set(self.path_params) - set(self.path_names)
        if unknown:
            raise ValueError(f"{self.method} {self.path}: no path parameter {sorted(unknown)}")
        if not self.answers:
            raise ValueError(f"{self.method} {self.path}: at least one answer")

    @property
    def path_names(self) -> list[str]:
        return path_names(self.path)

    @property
    def operation_id(self) -> str:
        words = re.sub(r"[{}]", "", self.path).replace("-", "_").strip("/").split("/")
        return "_".join([self.method.lower(), *(w for w in words if w)]) or self.method.lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Info:
    """The document's ``info`` and where its operations are served."""

    title: str
    version: str
    description: str
    servers: tuple[Mapping[str, Any], ...] = ()


def _schemas(types: Iterable[Any]) -> tuple[dict[Any, Any], dict[str, Any]]:
    kinds = list(dict.fromkeys(types))
    found, components = msgspec.json.schema_components(kinds, ref_template=REF)
    return dict(zip(kinds, found, strict=True)), components


def _param(name: str, where: str, param: Param, schema: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": where, "required": param.required, "schema": schema}
    if param.description:
        out["description"] = param.description
    return out


def _content(body: type[msgspec.Struct] | Raw, schemas: Mapping[Any, Any]) -> dict[str, Any]:
    if isinstance(body, Raw):
        if body.media_type.startswith("text/"):
            return {body.media_type: {"schema": {"type": "string"}}}
        return {body.media_type: {"schema": {"type": "string", "contentMediaType": body.media_type}}}
    return {"application/json": {"schema": schemas[body]}}


def _operation(op: Operation, schemas: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
    if op.description:
        out["description"] = op.description
    if op.tag:
        out["tags"] = [op.tag]
    params = [
        _param(name, "path", p, schemas[p.type])
        for name in op.path_names
        for p in [op.path_params.get(name, Param(required=True))]
    ]
    params += [_param(name, "query", p, schemas[p.type]) for name, p in op.query.items()]
    params += [_param(name, "header", p, schemas[p.type]) for name, p in op.headers.items()]
    for p in params:
        if p["in"] == "path":
            p["required"] = True
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": op.body_required, "content": _content(op.body, schemas)}
    responses: dict[str, Any] = {}
    for status, answer in sorted(op.answers.items()):
        response: dict[str, Any] = {"description": _reason(status)}
        if answer is not None:
            if isinstance(answer, Raw) and answer.description:
                response["description"] = answer.description
            response["content"] = _content(answer, schemas)
        responses[str(status)] = response
    if op.error is not None:
        responses["default"] = {
            "description": "An error, in this API's error envelope",
            "content": {"application/json": {"schema": schemas[op.error]}},
        }
    out["responses"] = responses
    out["security"] = [] if op.auth is Auth.NONE else [{op.auth.value: []}]
    return out


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 503: "Unavailable"}


def _reason(status: int) -> str:
    return _REASONS.get(status, str(status))


def document(operations: Iterable[Operation], info: Info) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations`` (a JSON-able dict)."""
    ops = sorted(operations, key=lambda o: (o.path, o.method))
    seen: set[tuple[str, str]] = set()
    for op in ops:
        key = (op.method, _PATH_PARAM.sub("{}", op.path))
        if key in seen:
            raise ValueError(f"{op.method} {op.path} is declared twice")
        seen.add(key)
    kinds: list[Any] = [str]
    for op in ops:
        kinds += [p.type for p in (*op.path_params.values(), *op.query.values(), *op.headers.values())]
        kinds += [k for k in (op.body, *op.answers.values(), op.error) if isinstance(k, type)]
    schemas, components = _schemas(kinds)
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    used = {op.auth for op in ops} - {Auth.NONE}
    doc: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": info.title, "version": info.version, "description": info.description},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {a.value: dict(SECURITY_SCHEMES[a]) for a in Auth if a in used},
        },
    }
    if info.servers:
        doc["servers"] = [dict(s) for s in info.servers]
    tags = list(dict.fromkeys(op.tag for op in ops if op.tag))
    if tags:
        doc["tags"] = [{"name": t} for t in tags]
    return doc
