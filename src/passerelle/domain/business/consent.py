"""Consent (docs/business.md section 8): scopes, where an opt-in or a revocation came from, which
scope a template's category needs, and the STOP words a person's device recognises."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Final


class Scope(enum.StrEnum):
    MARKETING = "marketing"
    UTILITY = "utility"
    AUTHENTICATION = "authentication"


class Category(enum.StrEnum):
    """A template's category, as the Cloud API writes it."""

    MARKETING = "MARKETING"
    UTILITY = "UTILITY"
    AUTHENTICATION = "AUTHENTICATION"


class ConsentState(enum.StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"


class ConsentSource(enum.StrEnum):
    SDK = "sdk"
    CLI = "cli"
    WEB = "web"
    KEYWORD = "keyword"
    BUTTON = "button"
    OPERATOR = "operator"


SCOPE_OF: Final[Mapping[Category, Scope]] = {
    Category.MARKETING: Scope.MARKETING,
    Category.UTILITY: Scope.UTILITY,
    Category.AUTHENTICATION: Scope.AUTHENTICATION,
}

DEFAULT_STOP_WORDS: Final[Mapping[str, tuple[str, ...]]] = {
    "en": ("STOP", "UNSUBSCRIBE", "STOP ALL"),
    "fr": ("ARRET", "STOP", "DESABONNER"),
    "es": ("BAJA", "PARAR"),
    "de": ("STOPP", "ABMELDEN"),
}
"""Per language; the operator may replace them. Compared after ``fold``."""


def fold(text: str) -> str:
    """Upper case, accents removed, inner spaces collapsed, trailing punctuation dropped:
    ``"  Arrêt ! "`` → ``"ARRET"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = bare.upper().split()
    return " ".join(words).rstrip(".!?¡¿ ").strip()


def stop_words(words: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """Every language's words together, folded."""
    return frozenset(fold(w) for per_language in words.values() for w in per_language if fold(w))


def is_stop(text: str, words: frozenset[str]) -> bool:
    """Whether a whole message is a STOP word (``"stop"``, ``"Arrêt!"``); a sentence that merely
    contains one is not."""
    return fold(text) in words
