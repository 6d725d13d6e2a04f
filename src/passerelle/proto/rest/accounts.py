"""Apps, codes, registration, devices, login, me and settings (docs/protocol.md §4.1 to §4.6)."""

from __future__ import annotations

from typing import Literal

import msgspec

from passerelle.proto.rest.base import Answer, Body, Short, Text

Findability = Literal["everyone", "app", "nobody"]

# --- requests ---------------------------------------------------------------------------------------


class NewDevice(Body):
    """A device's signed public keys (§4.2), inside registration and adding a device."""

    name: Text
    curve25519: Short
    ed25519: Short
    signature: Short


class CodeRequest(Body):
    """``POST /v1/codes``."""

    app: Short
    phone: Short


class IdentityBody(Body):
    """The identity fields of registration and of adding a device; which ones depends on the app."""

    app: Short
    device: NewDevice
    phone: Short | None = None
    code: Short | None = None
    handle: Short | None = None
    username: Short | None = None
    password: Text | None = None


class Register(IdentityBody):
    """``POST /v1/accounts``."""

    display_name: Text | None = None


class AddDevice(IdentityBody):
    """``POST /v1/devices``."""


class ChallengeRequest(Body):
    """``POST /v1/auth/challenge``."""

    device_id: Short


class TokenRequest(Body):
    """``POST /v1/auth/token``: the challenge signed with the device's ed25519 key."""

    device_id: Short
    challenge: Short
    signature: Short


class SettingsChange(Body):
    """``PATCH /v1/me/settings``: what is left out stays as it is."""

    findability: Findability | None = None
    read_receipts: bool | None = None


# --- answers ----------------------------------------------------------------------------------------


class AppInfo(Answer, frozen=True):
    name: str
    display_name: str = ""
    identity: str = ""
    colors: dict[str, str] = msgspec.field(default_factory=dict)
    features: list[str] = msgspec.field(default_factory=list)


class Apps(Answer, frozen=True):
    """``GET /v1/apps``."""

    apps: list[AppInfo]
    business_stop_words: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """Per language, the whole messages that stop a business's marketing (docs/business.md section 8)."""


class CodeSent(Answer, frozen=True):
    """``POST /v1/codes`` (202)."""

    expires_in: int


class DeviceGrant(Answer, frozen=True, kw_only=True):
    """Registering, adding a device, and a token from a signed challenge."""

    account_id: str = ""
    device_id: str = ""
    token: str
    expires_at: int
    address: str | None = None


class Challenge(Answer, frozen=True):
    challenge: str
    expires_in: int = 60


class PublishedDevice(Answer, frozen=True):
    """A device as every answer shows it: its id and its signed public keys."""

    device_id: str
    name: str
    curve25519: str
    ed25519: str
    signature: str

    def as_dict(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in PublishedDevice.__struct_fields__}


class AccountSettings(Answer, frozen=True):
    """``PATCH /v1/me/settings``, and inside ``GET /v1/me``."""

    findability: str
    read_receipts: bool


class Me(Answer, frozen=True):
    """``GET /v1/me``."""

    account_id: str
    app: str
    address: str
    display_name: str
    device_id: str
    settings: AccountSettings
    devices: list[PublishedDevice]
