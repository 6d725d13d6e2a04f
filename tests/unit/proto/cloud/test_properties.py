"""Properties of the Cloud API bodies: any valid body round-trips through the codec and passes the
checks; breaking any one rule of a valid body is refused naming exactly that field."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from passerelle.proto.cloud.checks import CheckedMessage, check_message_request
from passerelle.proto.cloud.codec import decode, encode
from passerelle.proto.cloud.errors import CloudBodyError
from passerelle.proto.cloud.messages import (
    Action,
    Interactive,
    InteractiveBody,
    ListRow,
    ListSection,
    MessageRequest,
    ReplyButton,
    ReplyButtonReply,
    Template,
    TemplateComponent,
    TemplateLanguage,
    TemplateParameter,
    Text,
)

words = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)
ids = st.text("abcdefghij0123456789_-", min_size=1, max_size=12)
recipients: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.from_regex(r"\A[1-9][0-9]{7,14}\Z").map(lambda d: {"to": d}),
    st.from_regex(r"\A[A-Z]{2}\.[0-9]{5,20}\Z").map(lambda d: {"recipient": d}),
)


@st.composite
def texts(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(st.text(min_size=1, max_size=300).filter(lambda s: 1 <= len(s) <= 4096))
    return {"type": "text", "text": Text(body=body, preview_url=draw(st.none() | st.booleans()))}


@st.composite
def button_messages(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.lists(ids, min_size=1, max_size=3, unique=True))
    buttons = [ReplyButton(type="reply", reply=ReplyButtonReply(id=i, title=draw(words))) for i in chosen]
    action = Action(buttons=buttons)
    return {
        "type": "interactive",
        "interactive": Interactive(type="button", body=InteractiveBody(text=draw(words)), action=action),
    }


@st.composite
def list_messages(draw: st.DrawFn) -> dict[str, Any]:
    row_ids = draw(st.lists(ids, min_size=1, max_size=10, unique=True))
    cut = draw(st.integers(1, len(row_ids)))
    groups = [row_ids[:cut], row_ids[cut:]] if cut < len(row_ids) else [row_ids]
    sections = [
        ListSection(title=draw(words), rows=[ListRow(id=r, title=draw(words)) for r in group])
        for group in groups
    ]
    action = Action(button=draw(words), sections=sections)
    return {
        "type": "interactive",
        "interactive": Interactive(type="list", body=InteractiveBody(text="x"), action=action),
    }


@st.composite
def template_messages(draw: st.DrawFn) -> dict[str, Any]:
    params = [TemplateParameter(type="text", text=t) for t in draw(st.lists(words, max_size=5))]
    components = [TemplateComponent(type=draw(st.sampled_from(["BODY", "body"])), parameters=params)]
    template = Template(name=draw(ids), language=TemplateLanguage(code="en_US"), components=components)
    return {"type": "template", "template": template}


valid_requests = st.builds(
    lambda who, what: MessageRequest(messaging_product="whatsapp", **who, **what),
    recipients,
    st.one_of(texts(), button_messages(), list_messages(), template_messages()),
)


@given(valid_requests)
def test_any_valid_body_round_trips_and_passes(request: MessageRequest) -> None:
    raw = encode(request)
    again = decode(raw, MessageRequest)
    assert again == request
    result = check_message_request(again)
    assert isinstance(result, CheckedMessage) and result.kind == request.type


def _refused_field(body: MessageRequest) -> str:
    try:
        check_message_request(decode(encode(body), MessageRequest))
    except CloudBodyError as exc:
        return exc.field
    raise AssertionError("accepted")


@given(button_messages(), recipients, st.data())
def test_a_repeated_button_id_is_named(
    what: dict[str, Any], who: dict[str, Any], data: st.DataObject
) -> None:
    interactive: Interactive = what["interactive"]
    assert interactive.action is not None and interactive.action.buttons is not None
    buttons = interactive.action.buttons
    if len(buttons) == 3:
        buttons.pop()
    copied = data.draw(st.integers(0, len(buttons) - 1))
    reply = buttons[copied].reply
    assert reply is not None
    buttons.append(ReplyButton(type="reply", reply=ReplyButtonReply(id=reply.id, title="again")))
    body = MessageRequest(messaging_product="whatsapp", **who, **what)
    assert _refused_field(body) == f"interactive.action.buttons[{len(buttons) - 1}].reply.id"


@given(texts(), recipients, st.integers(4097, 6000))
def test_a_text_too_long_is_named(what: dict[str, Any], who: dict[str, Any], length: int) -> None:
    what["text"].body = "y" * length
    assert _refused_field(MessageRequest(messaging_product="whatsapp", **who, **what)) == "text.body"


@given(list_messages(), recipients)
def test_an_eleventh_row_is_refused_naming_the_sections(what: dict[str, Any], who: dict[str, Any]) -> None:
    action: Action = what["interactive"].action
    assert action.sections is not None
    total = sum(len(s.rows or []) for s in action.sections)
    extra = [ListRow(id=f"extra{i}", title="t") for i in range(11 - total)]
    action.sections.append(ListSection(title="more", rows=extra))
    field = _refused_field(MessageRequest(messaging_product="whatsapp", **who, **what))
    assert field.startswith("interactive.action.sections")


@given(
    st.sampled_from(
        ["text", "image", "video", "audio", "document", "sticker", "location", "reaction", "template"]
    )
)
def test_a_type_without_its_member_is_named(kind: str) -> None:
    body = MessageRequest(messaging_product="whatsapp", to="15551234567", type=kind)
    assert _refused_field(body) == kind
