"""The one protocol error of the Cloud API's bodies: a parameter is wrong, and which one."""

from __future__ import annotations

from passerelle.proto.errors import RemoteProtocolError


class CloudBodyError(RemoteProtocolError):
    """The bot sent a body the Cloud API refuses. ``field`` names the member as a path
    (``interactive.action.buttons[1].reply.id``; empty for the body as a whole); the server answers
    Graph error code 100 naming it."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        where = f"Param {field} " if field else ""
        super().__init__("invalid_parameter", f"{where}{problem}".strip())
