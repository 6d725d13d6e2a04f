"""The Cloud API's length and count limits, declared once (pywa's docstrings and Meta's reference,
recorded in ../shared/reference/cloud-api.md section 2)."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

TEXT_BODY_MAX: Final = 4096
CAPTION_MAX: Final = 1024
INTERACTIVE_BODY_MAX: Final = 1024
HEADER_TEXT_MAX: Final = 60
FOOTER_TEXT_MAX: Final = 60
BUTTONS_MAX: Final = 3
BUTTON_TITLE_MAX: Final = 20
BUTTON_ID_MAX: Final = 256
LIST_BUTTON_MAX: Final = 20
LIST_SECTIONS_MAX: Final = 10
LIST_ROWS_MAX: Final = 10
"""Rows in all sections together."""
SECTION_TITLE_MAX: Final = 24
ROW_ID_MAX: Final = 200
ROW_TITLE_MAX: Final = 24
ROW_DESCRIPTION_MAX: Final = 72
CTA_DISPLAY_TEXT_MAX: Final = 20
URL_MAX: Final = 2000
TEMPLATE_NAME_MAX: Final = 512
TEMPLATE_PARAMETERS_MAX: Final = 100
TEMPLATE_COMPONENTS_MAX: Final = 20
LANGUAGE_CODE_MAX: Final = 15
PRODUCT_LIST_ITEMS_MAX: Final = 30
"""Products in all sections of a ``product_list`` together (at most 10 sections)."""
ORDER_ITEMS_MAX: Final = 100
"""Items in an order (the inbound ``order``'s ``product_items``, ``order_details``'s items)."""
ID_MAX: Final = 256
"""Ids the bot chooses or echoes (media ids, message ids)."""
OPAQUE_MAX: Final = 512
"""``biz_opaque_callback_data``."""
FILENAME_MAX: Final = 240
CONTACTS_MAX: Final = 257
EMOJI_MAX: Final = 16
BLOCK_USERS_MAX: Final = 1000

Text4096 = Annotated[str, msgspec.Meta(min_length=1, max_length=TEXT_BODY_MAX)]
Caption = Annotated[str, msgspec.Meta(max_length=CAPTION_MAX)]
Id = Annotated[str, msgspec.Meta(max_length=ID_MAX)]
Url = Annotated[str, msgspec.Meta(max_length=URL_MAX)]
Short = Annotated[str, msgspec.Meta(max_length=OPAQUE_MAX)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
