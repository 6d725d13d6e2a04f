"""One-time keys, fallback keys, claims and device lists (docs/protocol.md §4.7)."""

from __future__ import annotations

import msgspec

from passerelle.proto.rest.accounts import PublishedDevice
from passerelle.proto.rest.base import Answer, Body, Short

# --- requests ---------------------------------------------------------------------------------------


class SignedKey(Body):
    """A one-time or fallback key, signed with the device's ed25519 key."""

    key_id: Short
    key: Short
    signature: Short


class UploadKeys(Body):
    """``POST /v1/keys``."""

    one_time_keys: list[SignedKey] = msgspec.field(default_factory=list)
    fallback_key: SignedKey | None = None


class ClaimRequest(Body):
    """``POST /v1/keys/claim``: every device of the account, or the ones named."""

    account_id: Short
    device_ids: list[Short] | None = None


# --- answers ----------------------------------------------------------------------------------------


class KeyCount(Answer, frozen=True):
    """``POST /v1/keys`` and ``GET /v1/keys/count``."""

    otk_count: int


class ClaimedOneTimeKey(Answer, frozen=True):
    key_id: str
    key: str
    signature: str
    fallback: bool = False


class ClaimedDevice(PublishedDevice, frozen=True):
    one_time_key: ClaimedOneTimeKey | None = None


class Claim(Answer, frozen=True):
    """``POST /v1/keys/claim``."""

    account_id: str
    devices: list[ClaimedDevice]


class DeviceList(Answer, frozen=True):
    """``GET /v1/accounts/{account_id}/devices``."""

    account_id: str
    devices: list[PublishedDevice]
