"""What business endpoints need of the store (docs/business.md section 4): each business's endpoint
(the device that holds its keys, with the hosting statement it signed) and the one-time enrolment
tokens the operator issues. Every method is one transaction."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from passerelle.domain.business.ids import BusinessId
from passerelle.domain.ids import AccountId, DeviceId, Timestamp


class EndpointMode(enum.StrEnum):
    HOSTED = "hosted"
    """The operator runs the endpoint (inside ``passerelle serve``): the operator could read."""
    SELF_RUN = "self_run"
    """The business runs it (``passerelle business-endpoint run``): the server sees no plaintext."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointRecord:
    business: BusinessId
    account: AccountId
    """The business's account in the network (app ``biz``, alias its slug)."""
    device: DeviceId
    mode: EndpointMode
    """How the operator enrolled it; the statement must say the same."""
    statement: str
    """The hosting statement as signed (canonical JSON); empty until the endpoint sent it."""
    signature: str
    enrolled_at: Timestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrolmentRecord:
    business: BusinessId
    mode: EndpointMode
    created_at: Timestamp
    expires_at: Timestamp


class EndpointStore(Protocol):
    async def add_enrolment(self, enrolment: EnrolmentRecord, *, token_hash: str) -> bool:
        """False (and nothing written) when there is no such business."""
        ...

    async def take_enrolment(self, token_hash: str, *, now: Timestamp) -> EnrolmentRecord | None:
        """The unexpired enrolment with this hash, deleted in the same transaction (used once)."""
        ...

    async def set_endpoint(self, endpoint: EndpointRecord) -> None:
        """Insert or replace the business's endpoint."""
        ...

    async def endpoint_of(self, business: BusinessId) -> EndpointRecord | None: ...

    async def endpoint_by_account(self, account: AccountId) -> EndpointRecord | None: ...

    async def set_statement(
        self, business: BusinessId, device: DeviceId, *, statement: str, signature: str
    ) -> bool:
        """False when ``device`` is not (or no longer) the business's endpoint."""
        ...

    async def endpoints(self) -> list[EndpointRecord]:
        """Every endpoint, by business."""
        ...
