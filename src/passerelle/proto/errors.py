"""Protocol errors say whose fault they are (as h11 does): the peer's (Remote) or ours (Local)."""

from __future__ import annotations


class ProtocolError(Exception):
    """``code`` is the wire error code; ``fatal`` says the connection cannot go on after it."""

    def __init__(self, code: str, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fatal = fatal


class RemoteProtocolError(ProtocolError):
    """The peer sent something that breaks the protocol."""


class LocalProtocolError(ProtocolError):
    """We were asked to send something the protocol does not allow in the current state."""
