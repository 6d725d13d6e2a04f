"""Consent (docs/business.md section 8): scopes, where an opt-in or a revocation came from, which
scope a template's category needs, and the STOP words a person's device recognises."""

from __future__ import annotations

import enum
import re
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


STOP_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
STOP_WORD_MAX: Final = 64
STOP_WORDS_PER_LANGUAGE: Final = 32
STOP_LANGUAGES: Final = 64


def check_stop_words(words: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    """The operator's stop words per language, checked (``ValueError`` saying what is wrong): a
    language is 2 or 3 lower-case letters; each has 1 to 32 words of 1 to 64 characters that do not
    fold to nothing."""
    if len(words) > STOP_LANGUAGES:
        raise ValueError(f"at most {STOP_LANGUAGES} languages")
    checked: dict[str, tuple[str, ...]] = {}
    for language, listed in words.items():
        if not STOP_LANGUAGE.match(language):
            raise ValueError(f"{language!r} is not a language code such as en or fr")
        if not isinstance(listed, list | tuple) or not 1 <= len(listed) <= STOP_WORDS_PER_LANGUAGE:
            raise ValueError(f"{language}: a list of 1 to {STOP_WORDS_PER_LANGUAGE} words")
        for word in listed:
            if not isinstance(word, str) or not 0 < len(word) <= STOP_WORD_MAX or not fold(word):
                raise ValueError(
                    f"{language}: each word has 1 to {STOP_WORD_MAX} characters, not only punctuation"
                )
        checked[language] = tuple(listed)
    return checked


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
