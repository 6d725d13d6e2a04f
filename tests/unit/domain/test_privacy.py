"""Findability: who may find whom, and who may see a phone number."""

from __future__ import annotations

import pytest

from passerelle.domain.ids import AppName
from passerelle.domain.privacy import Findability, can_find, may_see_alias

CHAT, PHOTO = AppName("chat"), AppName("photo")


@pytest.mark.parametrize(
    ("setting", "same_app", "other_app"),
    [
        (Findability.EVERYONE, True, True),
        (Findability.APP, True, False),
        (Findability.NOBODY, False, False),
    ],
)
def test_findability_matrix(setting: Findability, same_app: bool, other_app: bool) -> None:
    assert can_find(viewer_app=CHAT, target_app=CHAT, setting=setting) is same_app
    assert can_find(viewer_app=PHOTO, target_app=CHAT, setting=setting) is other_app


def test_a_phone_number_is_only_shown_within_its_app() -> None:
    assert may_see_alias(viewer_app=CHAT, target_app=CHAT, alias_is_phone=True)
    assert not may_see_alias(viewer_app=PHOTO, target_app=CHAT, alias_is_phone=True)
    assert may_see_alias(viewer_app=CHAT, target_app=PHOTO, alias_is_phone=False)
