"""Webhook payloads: the shapes pywa 4.5.0 accepted (../shared/reference/cloud-api.md section 4.5)
decode into ours, and ours encode with what pywa requires (``contacts[0].user_id``, ``contacts`` on
statuses, string timestamps)."""

from __future__ import annotations

import msgspec

from passerelle.proto.cloud.codec import decode, encode
from passerelle.proto.cloud.webhooks import (
    ButtonReply,
    InboundContext,
    InboundInteractive,
    InboundMessage,
    InboundText,
    Metadata,
    Profile,
    Status,
    Value,
    WebhookContact,
    WebhookPayload,
    one_event,
)

INCOMING_TEXT = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",'
    b'"value":{"messaging_product":"whatsapp",'
    b'"metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},'
    b'"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234","user_id":"US.13491208655302741918"}],'
    b'"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",'
    b'"timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]}}]}]}'
)

METADATA = Metadata(display_phone_number="15550783881", phone_number_id="106540352242922")
CONTACT = WebhookContact(
    wa_id="16505551234", user_id="ZZ.1349120865530274191", profile=Profile(name="Sheena")
)


def test_the_reference_incoming_text_decodes_and_encodes_to_the_same_json() -> None:
    payload = decode(INCOMING_TEXT, WebhookPayload)
    message = payload.entry[0].changes[0].value.messages
    assert message is not None and message[0].from_ == "16505551234"
    assert msgspec.json.decode(encode(payload)) == msgspec.json.decode(INCOMING_TEXT)


def test_an_incoming_button_reply_carries_context_and_both_ids() -> None:
    message = InboundMessage(
        from_="16505551234",
        id="wamid.IN2",
        timestamp="1749416383",
        type="interactive",
        context=InboundContext(from_="15550783881", id="wamid.OUT1"),
        interactive=InboundInteractive(type="button_reply", button_reply=ButtonReply(id="yes", title="Yes")),
    )
    value = Value(metadata=METADATA, contacts=[CONTACT], messages=[message])
    raw = msgspec.json.decode(encode(one_event("102290129340398", "messages", value)))
    assert raw["object"] == "whatsapp_business_account"
    change = raw["entry"][0]["changes"][0]
    assert change["field"] == "messages"
    assert change["value"]["messaging_product"] == "whatsapp"
    assert change["value"]["contacts"][0] == {
        "wa_id": "16505551234",
        "user_id": "ZZ.1349120865530274191",
        "profile": {"name": "Sheena"},
    }
    sent = change["value"]["messages"][0]
    assert sent["from"] == "16505551234" and sent["context"] == {"from": "15550783881", "id": "wamid.OUT1"}
    assert sent["interactive"] == {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}
    assert "statuses" not in change["value"] and "text" not in sent


def test_a_status_always_carries_contacts() -> None:
    status = Status(id="wamid.OUT1", status="sent", timestamp="1750263773", recipient_id="16505551234")
    value = Value(
        metadata=METADATA, contacts=[WebhookContact(wa_id="16505551234", user_id="ZZ.1")], statuses=[status]
    )
    raw = msgspec.json.decode(encode(one_event("1", "messages", value)))["entry"][0]["changes"][0]["value"]
    assert raw["contacts"] == [{"wa_id": "16505551234", "user_id": "ZZ.1"}]
    assert raw["statuses"] == [
        {"id": "wamid.OUT1", "status": "sent", "timestamp": "1750263773", "recipient_id": "16505551234"}
    ]


def test_an_incoming_text_needs_nothing_more() -> None:
    message = InboundMessage(from_="1", id="wamid.X", timestamp="1", type="text", text=InboundText(body="hi"))
    assert b'"text":{"body":"hi"}' in encode(message)
