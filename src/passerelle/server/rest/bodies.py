"""Request bodies of the account, key and directory endpoints, as msgspec Structs (unknown members
are rejected), and their translation into the service's values. Lengths here only bound the work;
the exact rules (and their messages) live in the domain and the services."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from passerelle.domain.apps import App, IdentityKind
from passerelle.domain.errors import InvalidInput
from passerelle.service.accounts import NewDevice, PasswordProof, PhoneProof, Proof
from passerelle.service.records import OneTimeKey

Short = Annotated[str, msgspec.Meta(max_length=128)]
Text = Annotated[str, msgspec.Meta(max_length=512)]


class Body(msgspec.Struct, forbid_unknown_fields=True):
    pass


class DeviceBody(Body):
    name: Text
    curve25519: Short
    ed25519: Short
    signature: Short

    def to_new_device(self) -> NewDevice:
        return NewDevice(
            name=self.name, curve25519=self.curve25519, ed25519=self.ed25519, signature=self.signature
        )


class CodeRequestBody(Body):
    app: Short
    phone: Short


class IdentityBody(Body):
    """The identity fields of registration and of adding a device; which ones depends on the app."""

    app: Short
    device: DeviceBody
    phone: Short | None = None
    code: Short | None = None
    handle: Short | None = None
    username: Short | None = None
    password: Text | None = None

    def proof(self, app: App) -> Proof:
        given = {
            name
            for name in ("phone", "code", "handle", "username", "password")
            if getattr(self, name) is not None
        }
        if app.identity is IdentityKind.PHONE:
            wanted, alias = {"phone", "code"}, self.phone
        elif app.identity is IdentityKind.HANDLE:
            wanted, alias = {"handle", "password"}, self.handle
        else:
            wanted, alias = {"username", "password"}, self.username
        if given != wanted:
            fields = " and ".join(sorted(wanted))
            raise InvalidInput(
                f"app {app.name} (identity {app.identity}) takes {fields}, and no other identity field"
            )
        if app.identity is IdentityKind.PHONE:
            assert self.phone is not None
            assert self.code is not None
            return PhoneProof(phone=self.phone, code=self.code)
        assert alias is not None
        assert self.password is not None
        return PasswordProof(alias=alias, password=self.password)


class RegisterBody(IdentityBody):
    display_name: Text | None = None


class AddDeviceBody(IdentityBody):
    pass


class ChallengeBody(Body):
    device_id: Short


class TokenBody(Body):
    device_id: Short
    challenge: Short
    signature: Short


class SettingsBody(Body):
    findability: Literal["everyone", "app", "nobody"] | None = None
    read_receipts: bool | None = None


class KeyBody(Body):
    key_id: Short
    key: Short
    signature: Short

    def to_key(self, *, fallback: bool = False) -> OneTimeKey:
        return OneTimeKey(key_id=self.key_id, key=self.key, signature=self.signature, fallback=fallback)


class UploadKeysBody(Body):
    one_time_keys: list[KeyBody] = msgspec.field(default_factory=list)
    fallback_key: KeyBody | None = None


class ClaimBody(Body):
    account_id: Short
    device_ids: list[Short] | None = None
