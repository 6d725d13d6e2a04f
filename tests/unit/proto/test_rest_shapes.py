"""The REST shapes of proto/rest: what a request body refuses and leaves out, what an answer always
sends, and that every shape has a JSON Schema (docs/protocol.md section 4)."""

from __future__ import annotations

import importlib
import json
import pkgutil

import msgspec
import pytest

import passerelle.proto.rest
from passerelle.proto.rest import accounts, directory, errors, groups, keys, privacy, stories
from passerelle.proto.rest.base import Answer, Body, decode, encode


def shapes() -> list[type[msgspec.Struct]]:
    found: list[type[msgspec.Struct]] = []
    for info in pkgutil.iter_modules(passerelle.proto.rest.__path__):
        module = importlib.import_module(f"passerelle.proto.rest.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Body | Answer) and value not in (Body, Answer):
                if value.__module__ == module.__name__:
                    found.append(value)
    return found


def test_every_shape_is_a_body_or_an_answer_with_a_json_schema() -> None:
    found = shapes()
    assert len(found) > 60
    for shape in found:
        assert msgspec.json.schema(shape)["$defs"][shape.__name__]["type"] == "object"


def test_a_request_body_refuses_unknown_members_and_leaves_out_its_defaults() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field `admin`"):
        decode(b'{"app": "chat", "phone": "+33612345678", "admin": true}', accounts.CodeRequest)
    assert encode(keys.ClaimRequest(account_id="a1")) == b'{"account_id":"a1"}'
    assert encode(privacy.Erase(code="123456")) == b'{"code":"123456"}'


def test_an_answer_sends_null_members_but_never_unset_ones() -> None:
    found = directory.Found(account_id="a1", app="photo", display_name="Al", features=[])
    assert json.loads(encode(found)) == {
        "account_id": "a1",
        "app": "photo",
        "display_name": "Al",
        "address": None,
        "features": [],
    }
    assert json.loads(encode(msgspec.structs.replace(found, last_seen=5)))["last_seen"] == 5
    mine = stories.StoryInfo(story="s1", author="a1", created_at=1, expires_at=2, audience_size=3)
    theirs = msgspec.structs.replace(mine, audience_size=msgspec.UNSET)
    assert "audience_size" in json.loads(encode(mine))
    assert "audience_size" not in json.loads(encode(theirs))
    assert json.loads(encode(errors.ErrorBody(error=errors.ErrorDetail(code="not_found", message="m")))) == {
        "error": {"code": "not_found", "message": "m"}
    }


def test_an_invite_shows_its_token_only_when_it_has_one() -> None:
    link = groups.InviteLink(invite_id="i1", created_by="a1", created_at=7)
    assert json.loads(encode(link)) == {"invite_id": "i1", "created_by": "a1", "created_at": 7}
    assert json.loads(encode(msgspec.structs.replace(link, token="t")))["token"] == "t"


def test_an_answer_ignores_members_it_does_not_know() -> None:
    grant = decode(b'{"token": "t", "expires_at": 1, "new": {"x": 1}}', accounts.DeviceGrant)
    assert (grant.token, grant.account_id, grant.address) == ("t", "", None)
