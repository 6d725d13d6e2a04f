"""Where a business's reply goes for a person with linked accounts (server/endpoint/people.py): the
account they last wrote from; a delivery or read receipt from another linked account does not move it."""

from __future__ import annotations

from typing import Any, cast

from passerelle.domain.ids import AccountId
from passerelle.proto.cloud.checks import CheckedMessage
from passerelle.proto.rest.business import BusinessPersonOut
from passerelle.sdk import Client
from passerelle.server.endpoint.people import People

CHAT, SOCIAL = AccountId("a_chat"), AccountId("a_social")


class _Businesses:
    """The server's answer for a shared customer: the same ids for each linked account."""

    async def endpoint_person(self, **query: str) -> BusinessPersonOut:
        account = query.get("account_id", CHAT)
        return BusinessPersonOut(account_id=account, wa_id="123456789012345", user_id="ZZ.1")


class _Client:
    businesses = _Businesses()


def _to(wa_id: str) -> CheckedMessage:
    return cast(CheckedMessage, cast(Any, type("Checked", (), {"recipient": None, "to": wa_id}))())


async def test_replies_follow_the_last_message_not_a_receipt() -> None:
    people = People(cast(Client, _Client()))
    await people.person(CHAT)  # she writes on chat
    await people.person(SOCIAL, wrote=False)  # her social device gets the reply and acknowledges it
    assert (await people.recipient(_to("123456789012345"))).account_id == CHAT
    await people.person(SOCIAL)  # now she writes on social
    assert (await people.recipient(_to("123456789012345"))).account_id == SOCIAL


async def test_a_receipt_from_someone_not_yet_known_still_names_them() -> None:
    people = People(cast(Client, _Client()))
    await people.person(SOCIAL, wrote=False)
    assert (await people.recipient(_to("123456789012345"))).account_id == SOCIAL


class _Linked:
    """A linked customer who wrote on chat, then ordered on social: the server answers social."""

    def __init__(self) -> None:
        self.asked: list[dict[str, str]] = []

    async def endpoint_person(self, **query: str) -> BusinessPersonOut:
        self.asked.append(query)
        account = query.get("account_id", SOCIAL)
        return BusinessPersonOut(account_id=account, wa_id="123456789012345", user_id="ZZ.1", linked=True)


async def test_a_linked_customers_reply_goes_where_the_server_says() -> None:
    server = _Linked()
    people = People(cast(Client, type("LinkedClient", (), {"businesses": server})()))
    await people.person(CHAT)  # she writes on chat, then orders on social (the server saw it)
    assert (await people.recipient(_to("123456789012345"))).account_id == SOCIAL
    assert server.asked[-1] == {"wa_id": "123456789012345"}  # asked, not the cached chat
