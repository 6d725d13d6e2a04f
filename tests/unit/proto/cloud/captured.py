"""Bodies captured from pywa 4.5.0 and heyoo 0.1.2 (../shared/reference/cloud-api.md sections 2 and
5), byte for byte where the reference gives them whole."""

from __future__ import annotations

TEXT = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"text","to":"15551234567",'
    b'"text":{"body":"Hello from pywa","preview_url":false}}'
)
TEXT_REPLY = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"text","to":"15551234567",'
    b'"context":{"message_id":"wamid.IN1"},"biz_opaque_callback_data":"trk-1",'
    b'"text":{"body":"Hello from pywa","preview_url":true}}'
)
BUTTONS = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"interactive","to":"15551234567",'
    b'"interactive":{"type":"button",'
    b'"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}},'
    b'{"type":"reply","reply":{"id":"no","title":"No"}}]},'
    b'"header":{"type":"text","text":"Header"},"body":{"text":"Pick one"},"footer":{"text":"Footer"}}}'
)
LIST = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"interactive","to":"15551234567",'
    b'"interactive":{"type":"list",'
    b'"action":{"button":"Open","sections":[{"title":"S1","rows":[{"id":"r1","title":"R1","description":"d1"},'
    b'{"id":"r2","title":"R2"}]}]},'
    b'"header":{"type":"text","text":"Menu"},"body":{"text":"Choose"},"footer":{"text":"f"}}}'
)
CTA_URL = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"interactive","to":"15551234567",'
    b'"interactive":{"type":"cta_url","action":{"name":"cta_url","parameters":{"display_text":"Site",'
    b'"url":"https://example.com"}},"body":{"text":"Visit"}}}'
)
TEMPLATE = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"template","to":"15551234567",'
    b'"template":{"name":"hello_world","language":{"code":"en_US"}}}'
)
TEMPLATE_PARAMS = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"template","to":"15551234567",'
    b'"template":{"name":"order_update","language":{"code":"en_US"},'
    b'"components":[{"type":"BODY","parameters":[{"type":"text","text":"Alice"},{"type":"text","text":"12345"}]}]}}'
)
TEMPLATE_BUTTONS = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"template","to":"15551234567",'
    b'"template":{"name":"promo","language":{"code":"en_US"},'
    b'"components":[{"type":"HEADER","parameters":[{"type":"image","image":{"id":"1037543291543636"}}]},'
    b'{"type":"BODY","parameters":[{"type":"text","text":"x","parameter_name":"name"}]},'
    b'{"type":"button","sub_type":"URL","index":0,"parameters":[{"type":"text","text":"abc"}]},'
    b'{"type":"button","sub_type":"QUICK_REPLY","index":1,"parameters":[{"type":"payload","payload":"stop"}]}]}}'
)
HEYOO_TEMPLATE = (
    b'{"messaging_product":"whatsapp","to":"15551234567","type":"template",'
    b'"template":{"name":"hello_world","language":{"code":"en_US"},"components":[]}}'
)
READ = b'{"messaging_product":"whatsapp","status":"read","message_id":"wamid.IN1"}'
TYPING = (
    b'{"messaging_product":"whatsapp","status":"read","message_id":"wamid.IN1",'
    b'"typing_indicator":{"type":"text"}}'
)
IMAGE_ID = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"image","to":"15551234567",'
    b'"image":{"id":"1037543291543636","caption":"cap"}}'
)
IMAGE_LINK = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"image","to":"15551234567",'
    b'"image":{"link":"https://example.com/x.jpg","caption":"cap"}}'
)
HEYOO_IMAGE = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","to":"15551234567","type":"image",'
    b'"image":{"link":"https://example.com/x.jpg","caption":null}}'
)
REACTION = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"reaction","to":"15551234567",'
    b'"reaction":{"emoji":"\xf0\x9f\x91\x8d","message_id":"wamid.IN1"}}'
)
BSUID_REPLY = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","type":"text",'
    b'"recipient":"US.13491208655302741918","text":{"body":"echo: hi","preview_url":false}}'
)
LOCATION = (
    b'{"messaging_product":"whatsapp","to":"15551234567","type":"location",'
    b'"location":{"latitude":48.85,"longitude":2.35,"name":"Shop","address":"1 rue X"}}'
)
CONTACTS = (
    b'{"messaging_product":"whatsapp","to":"15551234567","type":"contacts",'
    b'"contacts":[{"name":{"formatted_name":"Ada L","first_name":"Ada"},"phones":[{"phone":"+33612345678","type":"CELL"}]}]}'
)
DOCUMENT = (
    b'{"messaging_product":"whatsapp","to":"15551234567","type":"document",'
    b'"document":{"id":"55","filename":"a.pdf","caption":"invoice"}}'
)
EVERY_SEND = {
    "text": TEXT,
    "text_reply": TEXT_REPLY,
    "buttons": BUTTONS,
    "list": LIST,
    "cta_url": CTA_URL,
    "template": TEMPLATE,
    "template_params": TEMPLATE_PARAMS,
    "template_buttons": TEMPLATE_BUTTONS,
    "heyoo_template": HEYOO_TEMPLATE,
    "image_id": IMAGE_ID,
    "image_link": IMAGE_LINK,
    "heyoo_image": HEYOO_IMAGE,
    "reaction": REACTION,
    "bsuid_reply": BSUID_REPLY,
    "location": LOCATION,
    "contacts": CONTACTS,
    "document": DOCUMENT,
}
