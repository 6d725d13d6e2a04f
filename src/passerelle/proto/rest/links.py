"""A person's links between their own accounts on several apps, and where they are one customer
(docs/protocol.md section 16, docs/business.md section 3.1). Only the person sees these."""

from __future__ import annotations

from typing import Annotated

import msgspec

from passerelle.proto.rest.base import Answer, Body


class LinkRequestOut(Answer, frozen=True):
    code: str
    """One-time: another of the person's accounts takes it (``POST /v1/me/links``)."""
    expires_at: int


class TakeLink(Body):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class ShareIdentity(Body):
    shared: bool


class MyLinksOut(Answer, frozen=True):
    accounts: list[str]
    """The linked accounts (the caller's among them), oldest link first; empty when none."""
    shared_with: list[str]
    """The businesses where the person chose to be one customer."""
