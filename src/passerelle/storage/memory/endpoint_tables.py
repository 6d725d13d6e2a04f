"""The business endpoint tables of ``MemoryDatabase`` (the counterpart of migration ``endpoints``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from passerelle.domain.business.ids import BusinessId
from passerelle.service.business.endpoint_ports import EndpointRecord, EnrolmentRecord


@dataclass(slots=True)
class EndpointTables:
    endpoints: dict[BusinessId, EndpointRecord] = field(default_factory=dict)
    enrolments: dict[str, EnrolmentRecord] = field(default_factory=dict)
    """By token hash."""
