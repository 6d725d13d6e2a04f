"""Templates (docs/business.md section 6): what a business may submit (bodies pywa builds, from its
own test data), each mistake a 100 naming the field; and a send's parameters against the stored
placeholders — rendered when they match, 132000 naming the component when they do not."""

from __future__ import annotations

from typing import Any

import pytest

from passerelle.domain.business.consent import Category
from passerelle.domain.business.errors import CloudApiError
from passerelle.domain.business.templates import (
    Rendered,
    auto_approve_rule,
    check_template,
    placeholders,
    render,
)

SEASONAL: dict[str, Any] = {
    "name": "seasonal_promotion",
    "language": "en_US",
    "category": "MARKETING",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Our {{1}} is on!",
            "example": {"header_text": ["Summer Sale"]},
        },
        {
            "type": "BODY",
            "text": "Shop now through {{1}} and use code {{2}} to get {{3}} off of all merchandise.",
            "example": {"body_text": [["the end of August", "25OFF", "25%"]]},
        },
        {"type": "FOOTER", "text": "Use the buttons below to manage your MARKETING subscriptions"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Unsubscribe from Promos"},
                {
                    "type": "URL",
                    "text": "Shop",
                    "url": "https://shop.example/sale/{{1}}",
                    "example": ["summer"],
                },
            ],
        },
    ],
}
NAMED: dict[str, Any] = {
    "name": "order_update",
    "language": "fr",
    "category": "UTILITY",
    "parameter_format": "NAMED",
    "components": [
        {
            "type": "BODY",
            "text": "Bonjour {{first_name}}, la commande {{order_id}} est prête.",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Alice"},
                    {"param_name": "order_id", "example": "A-1"},
                ]
            },
        }
    ],
}
OTP: dict[str, Any] = {
    "name": "authentication_code_copy_code_button",
    "language": "en_US",
    "category": "AUTHENTICATION",
    "components": [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 5},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy Code"}]},
    ],
}


def check(body: dict[str, Any]) -> Any:
    return check_template(
        name=body.get("name"),
        language=body.get("language"),
        category=body.get("category"),
        parameter_format=body.get("parameter_format"),
        components=body.get("components"),
    )


def field_of(body: dict[str, Any]) -> str:
    with pytest.raises(CloudApiError) as caught:
        check(body)
    assert caught.value.spec.code == 100
    return caught.value.field


@pytest.mark.parametrize("body", [SEASONAL, NAMED, OTP])
def test_templates_as_pywa_builds_them_pass(body: dict[str, Any]) -> None:
    checked = check(body)
    assert checked.name == body["name"] and checked.category is Category(body["category"])
    assert checked.parameter_format == body.get("parameter_format", "POSITIONAL")


def with_(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


def component(body: dict[str, Any], index: int, **changes: Any) -> dict[str, Any]:
    components = [dict(c) for c in body["components"]]
    components[index] = {**components[index], **changes}
    return with_(body, components=components)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (with_(SEASONAL, name="Seasonal Promo"), "name"),
        (with_(SEASONAL, name=""), "name"),
        (with_(SEASONAL, language="english"), "language"),
        (with_(SEASONAL, category="PROMO"), "category"),
        (with_(SEASONAL, parameter_format="MIXED"), "parameter_format"),
        (with_(SEASONAL, components=[]), "components"),
        (with_(SEASONAL, components=[SEASONAL["components"][2]]), "components"),  # no BODY
        (component(SEASONAL, 0, type="TITLE"), "components[0].type"),
        (component(SEASONAL, 0, text="{{1}} and {{2}}"), "components[0].text"),  # one in a header
        (component(SEASONAL, 0, example=None), "components[0].example"),
        (component(SEASONAL, 1, text="Hi {{2}}"), "components[1].text"),  # numbered with a gap
        (component(SEASONAL, 1, text="Hi {{name}}"), "components[1].text"),  # named in POSITIONAL
        (component(SEASONAL, 1, example={"body_text": [["one"]]}), "components[1].example.body_text"),
        (component(SEASONAL, 1, text="x" * 1025), "components[1].text"),
        (component(SEASONAL, 2, text="Hi {{1}}"), "components[2].text"),
        (component(SEASONAL, 3, buttons=[]), "components[3].buttons"),
        (
            component(SEASONAL, 3, buttons=[{"type": "CATALOG", "text": "View"}]),
            "components[3].buttons[0].type",
        ),
        (
            component(SEASONAL, 3, buttons=[{"type": "URL", "text": "x", "url": "ftp://x"}]),
            "components[3].buttons[0].url",
        ),
        (
            component(SEASONAL, 3, buttons=[{"type": "QUICK_REPLY", "text": "x" * 26}]),
            "components[3].buttons[0].text",
        ),
        (
            with_(SEASONAL, components=[*SEASONAL["components"], SEASONAL["components"][1]]),
            "components[4].type",
        ),
        (
            component(
                NAMED, 0, example={"body_text_named_params": [{"param_name": "first_name", "example": "A"}]}
            ),
            "components[0].example.body_text_named_params",
        ),
        (with_(OTP, components=OTP["components"][:2]), "components"),  # no OTP button
        (component(OTP, 1, code_expiration_minutes=0), "components[1].code_expiration_minutes"),
    ],
)
def test_each_mistake_names_its_field(body: dict[str, Any], field: str) -> None:
    assert field_of(body) == field


def test_placeholders_in_order() -> None:
    assert placeholders("{{2}} then {{ 1 }} then {{2}}") == ["2", "1", "2"]


def render_of(body: dict[str, Any], sent: Any) -> list[Rendered]:
    return render(
        components=body["components"],
        parameter_format=body.get("parameter_format", "POSITIONAL"),
        category=Category(body["category"]),
        sent=sent,
    )


def text(value: str) -> dict[str, str]:
    return {"type": "text", "text": value}


def test_a_positional_send_renders_every_component() -> None:
    shown = render_of(
        SEASONAL,
        [
            {"type": "header", "parameters": [text("Winter Sale")]},
            {
                "type": "body",
                "parameters": [
                    text("Friday"),
                    text("COLD"),
                    {
                        "type": "currency",
                        "currency": {"fallback_value": "€5", "code": "EUR", "amount_1000": 5000},
                    },
                ],
            },
            {"type": "button", "sub_type": "url", "index": "1", "parameters": [text("winter")]},
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": 0,
                "parameters": [{"type": "payload", "payload": "stop"}],
            },
        ],
    )
    assert [(r.type, r.text) for r in shown[:3]] == [
        ("HEADER", "Our Winter Sale is on!"),
        ("BODY", "Shop now through Friday and use code COLD to get €5 off of all merchandise."),
        ("FOOTER", "Use the buttons below to manage your MARKETING subscriptions"),
    ]
    assert shown[3] == Rendered(type="BUTTON", button="QUICK_REPLY", text="Unsubscribe from Promos", index=0)
    assert shown[4].link == "https://shop.example/sale/winter"


def test_named_parameters_go_by_name() -> None:
    shown = render_of(
        NAMED,
        [
            {
                "type": "BODY",
                "parameters": [
                    {**text("A-7"), "parameter_name": "order_id"},
                    {**text("Léa"), "parameter_name": "first_name"},
                ],
            }
        ],
    )
    assert shown == [Rendered(type="BODY", text="Bonjour Léa, la commande A-7 est prête.")]


def test_an_authentication_template_shows_the_code() -> None:
    shown = render_of(
        OTP,
        [
            {"type": "body", "parameters": [text("123456")]},
            {"type": "button", "sub_type": "url", "index": 0, "parameters": [text("123456")]},
        ],
    )
    assert shown[0].text == "*123456* is your verification code. For your security, do not share this code."
    assert shown[1].text == "This code expires in 5 minutes."
    assert shown[2].link == "123456"


def mismatch(body: dict[str, Any], sent: Any) -> str:
    with pytest.raises(CloudApiError) as caught:
        render_of(body, sent)
    assert caught.value.spec.code == 132000
    return caught.value.details


FULL_SEASONAL = [
    {"type": "header", "parameters": [text("Winter Sale")]},
    {"type": "body", "parameters": [text("a"), text("b"), text("c")]},
    {"type": "button", "sub_type": "url", "index": 1, "parameters": [text("w")]},
]


@pytest.mark.parametrize(
    ("sent", "where"),
    [
        (None, "header"),
        (FULL_SEASONAL[:1] + FULL_SEASONAL[2:], "body"),
        (
            [FULL_SEASONAL[0], {"type": "body", "parameters": [text("a"), text("b")]}, FULL_SEASONAL[2]],
            "body",
        ),
        (
            [
                FULL_SEASONAL[0],
                {
                    "type": "body",
                    "parameters": [text("a"), text("b"), {"type": "image", "image": {"id": "1"}}],
                },
                FULL_SEASONAL[2],
            ],
            "body.parameters[2]",
        ),
        (FULL_SEASONAL[:2], "button[1]"),
        (
            [*FULL_SEASONAL, {"type": "button", "sub_type": "url", "index": 7, "parameters": [text("x")]}],
            "button[7]",
        ),
        ([*FULL_SEASONAL, FULL_SEASONAL[1]], "components[3]"),
    ],
)
def test_parameters_that_do_not_match_are_132000(sent: Any, where: str) -> None:
    assert mismatch(SEASONAL, sent).startswith(where)


def test_a_named_send_needs_the_names() -> None:
    assert mismatch(NAMED, [{"type": "body", "parameters": [text("Léa"), text("A-7")]}]).startswith(
        "body.parameters[0]"
    )


def test_the_auto_approval_rule() -> None:
    assert auto_approve_rule("none") == frozenset()
    assert auto_approve_rule("") == frozenset()
    assert auto_approve_rule("all") == frozenset(Category)
    assert auto_approve_rule("utility, Authentication") == {Category.UTILITY, Category.AUTHENTICATION}
    with pytest.raises(ValueError, match="expected none, all"):
        auto_approve_rule("utility,promotions")
