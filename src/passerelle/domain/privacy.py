"""Who may find whom. A hidden person and a nonexistent one must look the same to the viewer."""

from __future__ import annotations

import enum

from passerelle.domain.ids import AppName


class Findability(enum.StrEnum):
    EVERYONE = "everyone"
    APP = "app"
    """Only people of my home app can find me."""
    NOBODY = "nobody"


def can_find(*, viewer_app: AppName, target_app: AppName, setting: Findability) -> bool:
    """Whether a viewer on ``viewer_app`` may find a person of ``target_app`` by an alias."""
    if setting is Findability.EVERYONE:
        return True
    if setting is Findability.APP:
        return viewer_app == target_app
    return False


def may_see_alias(*, viewer_app: AppName, target_app: AppName, alias_is_phone: bool) -> bool:
    """A phone number is never shown to a person of another app; handles and usernames are public."""
    return not alias_is_phone or viewer_app == target_app
