"""``POST /{phone_number_id}/messages`` bodies: what bots send is accepted and classified; what the
Cloud API refuses is refused naming the field."""

from __future__ import annotations

import msgspec
import pytest

from passerelle.proto.cloud.checks import (
    CheckedMessage,
    CheckedRead,
    check_message_request,
    template_parameter_count,
)
from passerelle.proto.cloud.codec import decode, encode
from passerelle.proto.cloud.errors import CloudBodyError
from passerelle.proto.cloud.messages import MessageRequest, Template
from tests.unit.proto.cloud import captured


def checked(raw: bytes) -> CheckedMessage | CheckedRead:
    return check_message_request(decode(raw, MessageRequest))


def refused(raw: bytes | dict[str, object]) -> CloudBodyError:
    body = raw if isinstance(raw, bytes) else msgspec.json.encode(raw)
    with pytest.raises(CloudBodyError) as caught:
        checked(body)
    return caught.value


@pytest.mark.parametrize("name", sorted(captured.EVERY_SEND))
def test_every_captured_send_is_accepted(name: str) -> None:
    result = checked(captured.EVERY_SEND[name])
    assert isinstance(result, CheckedMessage)
    assert result.kind == name.split("_")[0].replace("buttons", "interactive").replace(
        "list", "interactive"
    ).replace("cta", "interactive").replace("heyoo", result.kind).replace("bsuid", "text")


def test_the_recipient_is_to_as_digits_or_recipient_as_a_user_id() -> None:
    sent = checked(captured.TEXT)
    assert isinstance(sent, CheckedMessage)
    assert (sent.to, sent.recipient, sent.input) == ("15551234567", None, "15551234567")
    reply = checked(captured.BSUID_REPLY)
    assert isinstance(reply, CheckedMessage)
    assert (reply.to, reply.recipient, reply.input) == (
        None,
        "US.13491208655302741918",
        "US.13491208655302741918",
    )
    typed = checked(captured.TEXT.replace(b'"15551234567"', b'"+1 555-123-4567"'))
    assert isinstance(typed, CheckedMessage)
    assert (typed.to, typed.input) == ("15551234567", "+1 555-123-4567")


def test_reply_context_and_template_name_are_read() -> None:
    reply = checked(captured.TEXT_REPLY)
    assert isinstance(reply, CheckedMessage) and reply.reply_to == "wamid.IN1"
    template = checked(captured.TEMPLATE_PARAMS)
    assert isinstance(template, CheckedMessage) and template.template == ("order_update", "en_US")
    assert template_parameter_count(decode(captured.TEMPLATE_BUTTONS, MessageRequest).template or _no()) == {
        "header": 1,
        "body": 1,
        "button:0": 1,
        "button:1": 1,
    }


def _no() -> Template:
    raise AssertionError("no template")


def test_status_read_with_and_without_typing() -> None:
    assert checked(captured.READ) == CheckedRead(message_id="wamid.IN1", typing=False)
    assert checked(captured.TYPING) == CheckedRead(message_id="wamid.IN1", typing=True)


def test_unknown_members_and_nulls_are_accepted() -> None:
    body = b'{"messaging_product":"whatsapp","to":"1555","type":"text","new_thing":{"x":1},' + (
        b'"context":null,"text":{"body":"hi","preview_url":null,"extra":[1,2]}}'
    )
    sent = checked(body)
    assert isinstance(sent, CheckedMessage) and sent.kind == "text" and sent.reply_to is None


def test_type_defaults_to_text() -> None:
    sent = checked(b'{"messaging_product":"whatsapp","to":"1555","text":{"body":"hi"}}')
    assert isinstance(sent, CheckedMessage) and sent.kind == "text"


BASE: dict[str, object] = {"messaging_product": "whatsapp", "to": "15551234567"}


def buttons(*pairs: tuple[str, str]) -> dict[str, object]:
    return {
        **BASE,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Pick"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in pairs]},
        },
    }


def list_body(*sections: list[str]) -> dict[str, object]:
    return {
        **BASE,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Pick"},
            "action": {
                "button": "Open",
                "sections": [
                    {"title": f"S{n}", "rows": [{"id": r, "title": r} for r in rows]}
                    for n, rows in enumerate(sections)
                ],
            },
        },
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BASE, "messaging_product": "other", "text": {"body": "x"}}, "messaging_product"),
        ({"messaging_product": "whatsapp", "text": {"body": "x"}}, "to"),
        ({**BASE, "recipient": "US.1", "text": {"body": "x"}}, "recipient"),
        ({**BASE, "to": "alice", "text": {"body": "x"}}, "to"),
        ({**BASE, "recipient_type": "group", "text": {"body": "x"}}, "recipient_type"),
        ({**BASE, "type": "poll", "poll": {}}, "type"),
        ({**BASE, "type": "text"}, "text"),
        ({**BASE, "text": {"body": ""}}, "text.body"),
        ({**BASE, "text": {"body": "x" * 4097}}, "text.body"),
        ({**BASE, "text": {"body": 5}}, "text.body"),
        ({**BASE, "text": {"body": "x"}, "context": {}}, "context.message_id"),
        (buttons(), "interactive.action.buttons"),
        (buttons(("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")), "interactive.action.buttons"),
        (buttons(("a", "A"), ("a", "B")), "interactive.action.buttons[1].reply.id"),
        (buttons(("a", "A" * 21)), "interactive.action.buttons[0].reply.title"),
        (buttons(("", "A")), "interactive.action.buttons[0].reply.id"),
        (list_body([f"r{i}" for i in range(11)]), "interactive.action.sections[0].rows"),
        (list_body([f"r{i}" for i in range(6)], [f"q{i}" for i in range(5)]), "interactive.action.sections"),
        (list_body(["a"], ["a"]), "interactive.action.sections[1].rows[0].id"),
        ({**BASE, "type": "image", "image": {}}, "image.id"),
        ({**BASE, "type": "image", "image": {"id": "1", "link": "https://x"}}, "image.id"),
        ({**BASE, "type": "image", "image": {"link": "ftp://x"}}, "image.link"),
        ({**BASE, "type": "location", "location": {"longitude": 2.0}}, "location.latitude"),
        ({**BASE, "type": "location", "location": {"latitude": 91.0, "longitude": 2.0}}, "location.latitude"),
        ({**BASE, "type": "reaction", "reaction": {"emoji": "x"}}, "reaction.message_id"),
        ({**BASE, "type": "contacts", "contacts": [{"name": {}}]}, "contacts[0].name.formatted_name"),
        ({**BASE, "type": "contacts", "contacts": []}, "contacts"),
        ({**BASE, "type": "template", "template": {"language": {"code": "en"}}}, "template.name"),
        ({**BASE, "type": "template", "template": {"name": "t"}}, "template.language.code"),
        (
            {
                **BASE,
                "type": "template",
                "template": {"name": "t", "language": {"code": "en"}, "components": [{"type": "x"}]},
            },
            "template.components[0].type",
        ),
        (
            {
                **BASE,
                "type": "template",
                "template": {
                    "name": "t",
                    "language": {"code": "en"},
                    "components": [{"type": "BODY", "parameters": [{"type": "text"}]}],
                },
            },
            "template.components[0].parameters[0].text",
        ),
        ({"messaging_product": "whatsapp", "status": "read"}, "message_id"),
        ({"messaging_product": "whatsapp", "status": "sent", "message_id": "m"}, "status"),
        (
            {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": "m",
                "typing_indicator": {"type": "x"},
            },
            "typing_indicator.type",
        ),
    ],
)
def test_an_invalid_body_names_its_field(body: dict[str, object], field: str) -> None:
    assert refused(body).field == field


def test_a_body_that_is_not_json_names_no_field() -> None:
    error = refused(b"{nope")
    assert error.field == "" and "JSON" in error.problem
    assert refused(b"[1]").field == ""


def test_responses_omit_what_is_absent() -> None:
    from passerelle.proto.cloud.responses import SendResponse, SentContact, SentMessage

    body = SendResponse(
        contacts=[SentContact(input="+1 555", wa_id="1555")], messages=[SentMessage(id="wamid.X")]
    )
    assert encode(body) == (
        b'{"contacts":[{"input":"+1 555","wa_id":"1555"}],"messages":[{"id":"wamid.X"}],"messaging_product":"whatsapp"}'
    )


def test_constants_are_always_written() -> None:
    from passerelle.proto.cloud.responses import MediaUploaded, Success

    assert encode(Success()) == b'{"success":true}'
    assert encode(MediaUploaded(id="1")) == b'{"id":"1"}'
