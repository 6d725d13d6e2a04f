"""The shared vectors of a business's content as a person's app shows it (vectors.json): the Python
side. web/test/cloud.test.mjs checks the web apps against the same file."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pytest

from passerelle.domain.business.consent import DEFAULT_STOP_WORDS, is_stop, stop_words
from passerelle.domain.business.feedback import Described, mismatch, observed
from passerelle.proto.cloud.content import choices, interactive_reply, numbered, typed_choice
from passerelle.sdk.commerce import order_update, price_text, shown_products

if TYPE_CHECKING:
    from passerelle.sdk.events import Message

VECTORS = json.loads((Path(__file__).parent / "vectors.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", VECTORS["content"], ids=lambda c: c["name"])
def test_content(case: dict[str, Any]) -> None:
    cloud, body = case["cloud"], case["body"]
    assert [[k, *v] for k, v in choices(cloud).items()] == case["choices"]
    assert numbered(cloud, body) == case["numbered"]
    for typed, expected in case["typed"].items():
        assert typed_choice(cloud, typed) == expected, typed


def test_taps_and_stop_words() -> None:
    for tap in VECTORS["taps"]:
        choice_id, kind, title, description = tap["choice"]
        assert interactive_reply(kind, choice_id, title, description) == tap["cloud"]
    words = stop_words(DEFAULT_STOP_WORDS)
    for text, expected in VECTORS["stop"].items():
        assert is_stop(text, words) is expected, text


@pytest.mark.parametrize("case", VECTORS["mismatch"], ids=lambda c: c["problem"] or c["declared"]["kind"])
def test_mismatch(case: dict[str, Any]) -> None:
    d = case["declared"]
    declared = Described(
        kind=d["kind"], template=d.get("template"), language=d.get("language"), category=d.get("category")
    )
    seen = observed(msgtype=case["msgtype"], cloud=case["cloud"], has_attachment=case["attachment"])
    assert {k: v for k, v in asdict(seen).items() if v is not None} == case["observed"]
    assert mismatch(declared, seen) == case["problem"]


@pytest.mark.parametrize("case", VECTORS["commerce"], ids=lambda c: c["name"])
def test_commerce(case: dict[str, Any]) -> None:
    message = cast("Message", SimpleNamespace(cloud=case["cloud"]))
    shown = [
        [p.retailer_id, p.name, p.price, p.currency, p.image, p.available, p.price_text]
        for p in shown_products(message)
    ]
    assert shown == case["products"]
    update = order_update(message)
    assert (None if update is None else [update.order_id, update.status, update.description]) == case[
        "order_update"
    ]


def test_prices() -> None:
    for minor, currency, text in VECTORS["prices"]:
        assert price_text(minor, currency) == text
