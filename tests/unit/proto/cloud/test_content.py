"""Business messages inside the encryption (docs/business.md section 6): the ``cloud`` object a bot's
message travels as, its plain-text rendering, and the person's taps."""

from __future__ import annotations

from passerelle.proto.cloud.codec import decode
from passerelle.proto.cloud.content import (
    NUMBER_PROMPT,
    choices,
    cloud_object,
    interactive_reply,
    numbered,
    render,
    typed_choice,
)
from passerelle.proto.cloud.messages import MessageRequest

BUTTONS = (
    b'{"messaging_product":"whatsapp","to":"1","type":"interactive","interactive":{"type":"button",'
    b'"header":{"type":"text","text":"Header"},"body":{"text":"Pick one"},"footer":{"text":"Footer"},'
    b'"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}},'
    b'{"type":"reply","reply":{"id":"no","title":"No"}}]}}}'
)
LIST = (
    b'{"messaging_product":"whatsapp","to":"1","type":"interactive","interactive":{"type":"list",'
    b'"body":{"text":"Choose"},"action":{"button":"Open","sections":[{"title":"S1","rows":'
    b'[{"id":"r1","title":"R1","description":"d1"},{"id":"r2","title":"R2"}]}]}}}'
)


def test_buttons_travel_as_sent_and_read_as_text() -> None:
    req = decode(BUTTONS, MessageRequest)
    cloud = cloud_object(req, "interactive")
    assert cloud is not None and cloud["type"] == "interactive"
    assert cloud["interactive"]["action"]["buttons"][1] == {
        "type": "reply",
        "reply": {"id": "no", "title": "No"},
    }
    assert render(req, "interactive") == "Header\nPick one\n[Yes]\n[No]\nFooter"
    assert choices(cloud) == {"yes": ("button_reply", "Yes", None), "no": ("button_reply", "No", None)}


def test_a_list_offers_its_rows() -> None:
    req = decode(LIST, MessageRequest)
    cloud = cloud_object(req, "interactive")
    assert choices(cloud) == {"r1": ("list_reply", "R1", "d1"), "r2": ("list_reply", "R2", None)}
    assert "• R1 — d1" in render(req, "interactive")
    assert interactive_reply("list_reply", "r1", "R1", "d1") == {
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "R1", "description": "d1"}},
    }


def test_text_and_reactions_carry_no_cloud_object() -> None:
    req = decode(
        b'{"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":"hi"}}', MessageRequest
    )
    assert cloud_object(req, "text") is None and render(req, "text") == "hi"
    assert choices(None) == {} and choices({"type": "location", "location": {}}) == {}


def test_a_place_and_a_card_read_as_text() -> None:
    req = decode(
        b'{"messaging_product":"whatsapp","to":"1","type":"location","location":'
        b'{"latitude":48.85,"longitude":2.35,"name":"Atelier"}}',
        MessageRequest,
    )
    assert cloud_object(req, "location") == {
        "type": "location",
        "location": {"latitude": 48.85, "longitude": 2.35, "name": "Atelier"},
    }
    assert render(req, "location") == "📍 Atelier (48.85, 2.35)"


def test_a_rendered_templates_quick_replies_are_offered_by_payload() -> None:
    cloud = {
        "type": "template",
        "template": {
            "name": "spring_sale",
            "components": [
                {"type": "BODY", "text": "Bonjour Marie"},
                {
                    "type": "BUTTON",
                    "button": "QUICK_REPLY",
                    "text": "Stop promotions",
                    "index": 0,
                    "payload": "stop",
                },
                {
                    "type": "BUTTON",
                    "button": "URL",
                    "text": "Voir",
                    "index": 1,
                    "link": "https://example.org",
                },
            ],
        },
    }
    assert choices(cloud) == {"stop": ("button", "Stop promotions", None)}
    assert interactive_reply("button", "stop", "Stop promotions", None) == {
        "type": "button",
        "button": {"payload": "stop", "text": "Stop promotions"},
    }


OFFER = {
    "type": "interactive",
    "interactive": {
        "type": "list",
        "header": {"type": "text", "text": "Vélo Paris"},
        "body": {"text": "Nos vélos"},
        "footer": {"text": "Livraison demain"},
        "action": {
            "button": "Voir",
            "sections": [
                {
                    "title": "Ville",
                    "rows": [{"id": "city", "title": "Vélo de ville", "description": "3 vitesses"}],
                },
                {"title": "Cargo", "rows": [{"id": "cargo", "title": "Vélo cargo"}]},
            ],
        },
    },
}


def test_choices_are_numbered_for_an_app_without_interactive_and_a_typed_number_picks_one() -> None:
    """docs/protocol.md section 11.3."""
    assert numbered(OFFER, "ignored") == (
        f"Vélo Paris\nNos vélos\n1. Vélo de ville — 3 vitesses\n2. Vélo cargo\nLivraison demain\n{NUMBER_PROMPT}"
    )
    assert typed_choice(OFFER, " 2 ") == "cargo"
    assert typed_choice(OFFER, "1.") == "city" and typed_choice(OFFER, "1)") == "city"
    for not_a_choice in ("0", "3", "12", "2 vélos", "deux", "", "٢", "-1"):
        assert typed_choice(OFFER, not_a_choice) is None
    assert numbered({"type": "location", "location": {}}, "📍") is None
    template = {
        "type": "template",
        "template": {"components": [{"button": "QUICK_REPLY", "text": "Oui", "payload": "yes"}]},
    }
    assert numbered(template, "Bonjour Marie\n[Oui]") == f"Bonjour Marie\n1. Oui\n{NUMBER_PROMPT}"
    assert typed_choice(template, "1") == "yes"
