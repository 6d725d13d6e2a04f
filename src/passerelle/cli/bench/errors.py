"""The one error a bench run raises: something kept it from measuring at all (the server did not
start, a connection or a registration was refused). Shortfalls inside a scenario (error frames,
messages not delivered in time) are counted in its figures instead."""

from __future__ import annotations


class BenchError(Exception):
    """The message says what failed and what to look at; it is shown to the operator as is."""
