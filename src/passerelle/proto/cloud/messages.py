"""``POST /{phone_number_id}/messages``: the request body of every message type, and of
``{"status": "read"}`` (mark as read, with an optional typing indicator), which uses the same path.

One ``MessageRequest`` Struct holds every type's member, as the JSON does; ``checks`` decides which
must be present. Shapes as captured from pywa 4.5.0 (../shared/reference/cloud-api.md section 2).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from passerelle.proto.cloud.limits import (
    BUTTON_ID_MAX,
    BUTTON_TITLE_MAX,
    BUTTONS_MAX,
    CONTACTS_MAX,
    CTA_DISPLAY_TEXT_MAX,
    EMOJI_MAX,
    FILENAME_MAX,
    FOOTER_TEXT_MAX,
    HEADER_TEXT_MAX,
    INTERACTIVE_BODY_MAX,
    LANGUAGE_CODE_MAX,
    LIST_BUTTON_MAX,
    LIST_ROWS_MAX,
    LIST_SECTIONS_MAX,
    ORDER_ITEMS_MAX,
    PRODUCT_LIST_ITEMS_MAX,
    ROW_DESCRIPTION_MAX,
    ROW_ID_MAX,
    ROW_TITLE_MAX,
    SECTION_TITLE_MAX,
    TEMPLATE_COMPONENTS_MAX,
    TEMPLATE_NAME_MAX,
    TEMPLATE_PARAMETERS_MAX,
    Caption,
    Id,
    Latitude,
    Longitude,
    Short,
    Text4096,
    Url,
)


class Body(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Unknown members are ignored and ``null`` is absent, as in the Cloud API. Absent (None)
    members are left out when encoding; constants (``always``) are always written."""


def always(value: object) -> Any:
    """A member whose default is written anyway (``omit_defaults`` leaves out only members equal to
    a plain default, not to a factory's value): ``messaging_product: str = always("whatsapp")``."""
    return msgspec.field(default_factory=lambda: value)


# -- text, media, location, reaction ------------------------------------------------------------


class Text(Body):
    body: Text4096 | None = None
    preview_url: bool | None = None


class Media(Body):
    """``image``, ``video``, ``audio``, ``document`` and ``sticker``: by uploaded ``id`` or by ``link``."""

    id: Id | None = None
    link: Url | None = None
    caption: Caption | None = None
    filename: Annotated[str, msgspec.Meta(max_length=FILENAME_MAX)] | None = None


class Location(Body):
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    name: Short | None = None
    address: Short | None = None


class Reaction(Body):
    message_id: Id | None = None
    emoji: Annotated[str, msgspec.Meta(max_length=EMOJI_MAX)] | None = None
    """An empty emoji removes the reaction."""


class Context(Body):
    message_id: Id | None = None


class TypingIndicator(Body):
    type: str | None = None


# -- contacts -----------------------------------------------------------------------------------


class ContactName(Body):
    formatted_name: Short | None = None
    first_name: Short | None = None
    last_name: Short | None = None
    middle_name: Short | None = None
    suffix: Short | None = None
    prefix: Short | None = None


class ContactPhone(Body):
    phone: Short | None = None
    type: Short | None = None
    wa_id: Short | None = None


class ContactEmail(Body):
    email: Short | None = None
    type: Short | None = None


class ContactUrl(Body):
    url: Url | None = None
    type: Short | None = None


class ContactAddress(Body):
    street: Short | None = None
    city: Short | None = None
    state: Short | None = None
    zip: Short | None = None
    country: Short | None = None
    country_code: Short | None = None
    type: Short | None = None


class ContactOrg(Body):
    company: Short | None = None
    department: Short | None = None
    title: Short | None = None


class Contact(Body):
    name: ContactName | None = None
    phones: list[ContactPhone] | None = None
    emails: list[ContactEmail] | None = None
    urls: list[ContactUrl] | None = None
    addresses: list[ContactAddress] | None = None
    org: ContactOrg | None = None
    birthday: Short | None = None


# -- interactive --------------------------------------------------------------------------------


class ReplyButtonReply(Body):
    id: Annotated[str, msgspec.Meta(max_length=BUTTON_ID_MAX)] | None = None
    title: Annotated[str, msgspec.Meta(max_length=BUTTON_TITLE_MAX)] | None = None


class ReplyButton(Body):
    type: str | None = None
    reply: ReplyButtonReply | None = None


class ListRow(Body):
    id: Annotated[str, msgspec.Meta(max_length=ROW_ID_MAX)] | None = None
    title: Annotated[str, msgspec.Meta(max_length=ROW_TITLE_MAX)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=ROW_DESCRIPTION_MAX)] | None = None


class ProductItemRef(Body):
    """One product of a ``product_list`` section, by the catalog's retailer id (its SKU)."""

    product_retailer_id: Id | None = None


class ListSection(Body):
    """A ``list`` section has ``rows``; a ``product_list`` section has ``product_items``."""

    title: Annotated[str, msgspec.Meta(max_length=SECTION_TITLE_MAX)] | None = None
    rows: Annotated[list[ListRow], msgspec.Meta(max_length=LIST_ROWS_MAX)] | None = None
    product_items: Annotated[list[ProductItemRef], msgspec.Meta(max_length=PRODUCT_LIST_ITEMS_MAX)] | None = (
        None
    )


class Amount(Body):
    """A sum of money as the Cloud API's payments write it: ``value`` / ``offset`` in the currency's
    units (``{"value": 1250, "offset": 100}`` is 12.50). Integers only: ``offset`` is 10 to the
    power of the currency's minor-unit digits."""

    value: int | None = None
    offset: int | None = None


class OrderDetailsItem(Body):
    retailer_id: Id | None = None
    name: Short | None = None
    amount: Amount | None = None
    quantity: int | None = None
    sale_amount: Amount | None = None


class OrderDetailsOrder(Body):
    """``order_details``'s and ``order_status``'s ``parameters.order``."""

    status: Short | None = None
    description: Short | None = None
    catalog_id: Id | None = None
    items: Annotated[list[OrderDetailsItem], msgspec.Meta(max_length=ORDER_ITEMS_MAX)] | None = None
    subtotal: Amount | None = None
    tax: Amount | None = None
    shipping: Amount | None = None
    discount: Amount | None = None


class CtaParameters(Body):
    """``action.parameters``: ``cta_url`` (``display_text``, ``url``), ``catalog_message``
    (``thumbnail_product_retailer_id``), ``order_details`` (``reference_id``, ``type``,
    ``currency``, ``total_amount``, ``order``, ``payment_type``) and ``order_status``
    (``reference_id``, ``order.status``, ``order.description``)."""

    display_text: Annotated[str, msgspec.Meta(max_length=CTA_DISPLAY_TEXT_MAX)] | None = None
    url: Url | None = None
    thumbnail_product_retailer_id: Id | None = None
    reference_id: Id | None = None
    type: Short | None = None
    payment_type: Short | None = None
    currency: Short | None = None
    total_amount: Amount | None = None
    order: OrderDetailsOrder | None = None


class Action(Body):
    """``button``: ``buttons``; ``list``: ``button`` and ``sections``; ``cta_url``: ``name`` and
    ``parameters``; ``product``: ``catalog_id`` and ``product_retailer_id``; ``product_list``:
    ``catalog_id`` and ``sections`` of ``product_items``; ``catalog_message``, ``order_details``
    (``review_and_pay``) and ``order_status`` (``review_order``): ``name`` and ``parameters``."""

    buttons: Annotated[list[ReplyButton], msgspec.Meta(max_length=BUTTONS_MAX)] | None = None
    button: Annotated[str, msgspec.Meta(max_length=LIST_BUTTON_MAX)] | None = None
    sections: Annotated[list[ListSection], msgspec.Meta(max_length=LIST_SECTIONS_MAX)] | None = None
    name: Short | None = None
    parameters: CtaParameters | None = None
    catalog_id: Id | None = None
    product_retailer_id: Id | None = None


class Header(Body):
    type: str | None = None
    text: Annotated[str, msgspec.Meta(max_length=HEADER_TEXT_MAX)] | None = None
    image: Media | None = None
    video: Media | None = None
    document: Media | None = None


class InteractiveBody(Body):
    text: Annotated[str, msgspec.Meta(max_length=INTERACTIVE_BODY_MAX)] | None = None


class Footer(Body):
    text: Annotated[str, msgspec.Meta(max_length=FOOTER_TEXT_MAX)] | None = None


class Interactive(Body):
    type: str | None = None
    header: Header | None = None
    body: InteractiveBody | None = None
    footer: Footer | None = None
    action: Action | None = None


# -- templates ----------------------------------------------------------------------------------


class TemplateLanguage(Body):
    code: Annotated[str, msgspec.Meta(max_length=LANGUAGE_CODE_MAX)] | None = None
    policy: Short | None = None


class Currency(Body):
    fallback_value: Short | None = None
    code: Short | None = None
    amount_1000: int | None = None


class DateTime(Body):
    fallback_value: Short | None = None


class TemplateParameter(Body):
    type: str | None = None
    text: Text4096 | None = None
    parameter_name: Short | None = None
    payload: Short | None = None
    image: Media | None = None
    video: Media | None = None
    document: Media | None = None
    currency: Currency | None = None
    date_time: DateTime | None = None


class TemplateComponent(Body):
    """``type`` is ``BODY`` / ``HEADER`` upper-case but ``button`` lower-case in pywa; either case is
    accepted. ``index`` arrives as an int (pywa) or a string."""

    type: str | None = None
    sub_type: str | None = None
    index: int | str | None = None
    parameters: (
        Annotated[list[TemplateParameter], msgspec.Meta(max_length=TEMPLATE_PARAMETERS_MAX)] | None
    ) = None


class Template(Body):
    name: Annotated[str, msgspec.Meta(max_length=TEMPLATE_NAME_MAX)] | None = None
    language: TemplateLanguage | None = None
    components: (
        Annotated[list[TemplateComponent], msgspec.Meta(max_length=TEMPLATE_COMPONENTS_MAX)] | None
    ) = None


# -- the request --------------------------------------------------------------------------------


class MessageRequest(Body):
    """The body of ``POST /{phone_number_id}/messages``: a message (``type`` and its member), or
    ``status: "read"`` with ``message_id`` (and optionally ``typing_indicator``)."""

    messaging_product: str | None = None
    recipient_type: str | None = None
    to: Short | None = None
    recipient: Short | None = None
    type: str | None = None
    context: Context | None = None
    biz_opaque_callback_data: Short | None = None
    status: str | None = None
    message_id: Id | None = None
    typing_indicator: TypingIndicator | None = None
    text: Text | None = None
    interactive: Interactive | None = None
    template: Template | None = None
    image: Media | None = None
    video: Media | None = None
    audio: Media | None = None
    document: Media | None = None
    sticker: Media | None = None
    location: Location | None = None
    contacts: Annotated[list[Contact], msgspec.Meta(max_length=CONTACTS_MAX)] | None = None
    reaction: Reaction | None = None
