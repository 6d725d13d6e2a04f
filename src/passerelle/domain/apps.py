"""Apps: the brands that share one Passerelle deployment, and their policies.

Each app names people in its own way (its identity kind) and has its own privacy defaults. An
operator declares apps in TOML; ``passerelle.config`` parses that file into these values.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from passerelle.domain.business.ids import ADDRESS_APP
from passerelle.domain.ids import AppName
from passerelle.domain.privacy import Findability

APP_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\*$")
"""A web origin as browsers send it (scheme, host, optional port; no path), or ``*`` for any."""
DAY_S = 86_400
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaQuota:
    """What one account may hold in media at a time (docs/protocol.md section 8.1): the declared
    sizes of its blobs and unfinished uploads together, and their number. A blob counts from the
    moment its upload is created until it is deleted or expires."""

    max_bytes: int = 2048 * MIB
    max_blobs: int = 2000

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_blobs <= 0:
            raise ValueError("a media quota must be positive")


class IdentityKind(enum.StrEnum):
    PHONE = "phone"
    """People are E.164 phone numbers proven by a one-time code."""
    HANDLE = "handle"
    """People are unique, case-insensitive handles with a password."""
    PROFILE = "profile"
    """People are profiles with a real name and a unique username, with a password."""


@dataclass(frozen=True, slots=True, kw_only=True)
class App:
    name: AppName
    display_name: str
    identity: IdentityKind
    colors: Mapping[str, str] = field(default_factory=dict)
    features: frozenset[str] = frozenset()
    default_findability: Findability = Findability.EVERYONE
    retention_s: int = 30 * DAY_S
    """How long an undelivered message waits in a mailbox before the janitor deletes it."""
    media_quota: MediaQuota = MediaQuota()
    """What each of its people may hold in media at a time."""
    allowed_origins: tuple[str, ...] = ()
    """Web origins whose pages may call the API from a browser (CORS, docs/protocol.md section 13);
    the app's own pages, served by the server at ``/app/<name>/``, need none."""

    def __post_init__(self) -> None:
        if not APP_NAME.match(self.name):
            raise ValueError(f"invalid app name {self.name!r}")
        if self.name == ADDRESS_APP:
            raise ValueError(
                f"the app name {ADDRESS_APP!r} is reserved: biz:<name> addresses name businesses"
            )
        if self.retention_s <= 0:
            raise ValueError(f"app {self.name}: retention must be positive")
        for origin in self.allowed_origins:
            if not ORIGIN.match(origin):
                raise ValueError(f"app {self.name}: {origin[:80]!r} is not an origin (scheme://host[:port])")


@dataclass(frozen=True, slots=True)
class AppRegistry:
    apps: Mapping[AppName, App]

    def get(self, name: str) -> App | None:
        return self.apps.get(AppName(name))

    def __iter__(self) -> Iterator[App]:
        return iter(self.apps.values())

    @property
    def allowed_origins(self) -> frozenset[str]:
        """Every app's allowed web origins: a browser page names no app before it has an account."""
        return frozenset(o for app in self.apps.values() for o in app.allowed_origins)
