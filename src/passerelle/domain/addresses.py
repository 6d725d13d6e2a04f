"""Addresses name a person across apps: ``<app>:<alias>`` (``photo:alice``, ``chat:+33612345678``).

Aliases are normalised before any lookup or uniqueness check: phone numbers to E.164 (validated with
the ``phonenumbers`` library), handles and usernames to lower case.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

from passerelle.domain.apps import App, IdentityKind
from passerelle.domain.errors import InvalidInput
from passerelle.domain.ids import AppName

HANDLE = re.compile(r"^[a-z0-9](?:[a-z0-9_.]{1,28}[a-z0-9_])$")
USERNAME = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]{1,30}[a-z0-9_])$")
MAX_DISPLAY_NAME = 64


@dataclass(frozen=True, slots=True)
class Address:
    app: AppName
    alias: str

    def __str__(self) -> str:
        return f"{self.app}:{self.alias}"


def normalize_phone(raw: str) -> str:
    """Return the E.164 form of a phone number given in international format, or raise InvalidInput."""
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone numbers are written in international format, like +33612345678") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("that phone number is not valid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_handle(raw: str) -> str:
    handle = raw.strip().lstrip("@").lower()
    if not HANDLE.match(handle):
        raise InvalidInput("a handle has 3 to 30 letters, digits, '_' or '.', and does not end with '.'")
    return handle


def normalize_username(raw: str) -> str:
    username = raw.strip().lstrip("@").lower()
    if not USERNAME.match(username):
        raise InvalidInput("a username has 3 to 32 letters, digits, '_', '.' or '-'")
    return username


def normalize_alias(app: App, raw: str) -> str:
    if app.identity is IdentityKind.PHONE:
        return normalize_phone(raw)
    if app.identity is IdentityKind.HANDLE:
        return normalize_handle(raw)
    return normalize_username(raw)


def normalize_display_name(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw).strip()
    if not name or len(name) > MAX_DISPLAY_NAME or any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidInput(f"a name has 1 to {MAX_DISPLAY_NAME} printable characters")
    return name


def parse_address(text: str) -> tuple[AppName, str]:
    """Split ``app:alias``; the alias is normalised later, against the app's identity kind."""
    app, sep, alias = text.strip().partition(":")
    if not sep or not app or not alias:
        raise InvalidInput("an address looks like photo:alice or chat:+33612345678")
    return AppName(app.lower()), alias
