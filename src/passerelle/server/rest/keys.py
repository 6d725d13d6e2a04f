"""REST endpoints of device keys and the directory: lookups and profiles (docs/protocol.md sections 4.7
and 4.8)."""

from __future__ import annotations

import msgspec
from msgspec.structs import asdict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.errors import InvalidInput
from passerelle.domain.ids import AccountId
from passerelle.proto.openapi import Param
from passerelle.proto.rest import directory
from passerelle.proto.rest import keys as wire
from passerelle.server.declared import route
from passerelle.server.rest.accounts import device_json
from passerelle.server.rest.io import RestServices, authenticated, endpoint, json_response, read_body
from passerelle.service.directory.directory import LookupResult
from passerelle.service.records import ClaimedDevice, OneTimeKey

MAX_ADDRESS = 256


def one_time_key(key: wire.SignedKey, *, fallback: bool = False) -> OneTimeKey:
    return OneTimeKey(key_id=key.key_id, key=key.key, signature=key.signature, fallback=fallback)


def claimed_json(item: ClaimedDevice) -> wire.ClaimedDevice:
    key = item.one_time_key
    return wire.ClaimedDevice(
        **asdict(device_json(item.device)),
        one_time_key=None
        if key is None
        else wire.ClaimedOneTimeKey(
            key_id=key.key_id, key=key.key, signature=key.signature, fallback=key.fallback
        ),
    )


def person_json(found: LookupResult) -> directory.Found:
    """A person as a lookup or a profile shows them (the address is null when hidden from the caller)."""
    return directory.Found(
        account_id=found.account,
        app=found.app,
        display_name=found.display_name,
        address=str(found.address) if found.address is not None else None,
        features=sorted(found.features),  # what the person's app can show (section 11)
        # profiles, when the person's setting allows (section 9)
        last_seen=found.last_seen if found.last_seen is not None else msgspec.UNSET,
    )


class KeyRoutes:
    def __init__(self, services: RestServices) -> None:
        self.s = services

    def routes(self) -> list[BaseRoute]:
        return [
            route(
                "POST",
                "/v1/keys",
                self.upload,
                body=wire.UploadKeys,
                answers={200: wire.KeyCount},
                tag="Keys",
                summary="Upload one-time keys and the fallback key",
            ),
            route(
                "GET",
                "/v1/keys/count",
                self.count,
                answers={200: wire.KeyCount},
                tag="Keys",
                summary="How many one-time keys the server holds for the caller's device",
            ),
            route(
                "POST",
                "/v1/keys/claim",
                self.claim,
                body=wire.ClaimRequest,
                answers={200: wire.Claim},
                tag="Keys",
                summary="Claim one one-time key of each device of an account",
            ),
            route(
                "GET",
                "/v1/accounts/{account_id}",
                self.profile,
                answers={200: directory.Found},
                tag="Directory",
                summary="A person's profile, as the caller may see it",
            ),
            route(
                "GET",
                "/v1/accounts/{account_id}/devices",
                self.devices,
                answers={200: wire.DeviceList},
                tag="Keys",
                summary="A person's devices and their identity keys",
            ),
            route(
                "GET",
                "/v1/lookup",
                self.lookup,
                answers={200: directory.Found},
                tag="Directory",
                query={
                    "address": Param(
                        str,
                        required=True,
                        description="A phone number, handle or "
                        "username, with its app (docs/protocol.md section 4.8)",
                    )
                },
                summary="Find a person by address",
            ),
        ]

    @endpoint
    async def upload(self, request: Request) -> Response:
        caller = await authenticated(request, self.s)
        body = await read_body(request, wire.UploadKeys)
        count = await self.s.keys.upload(
            caller,
            one_time_keys=[one_time_key(k) for k in body.one_time_keys],
            fallback_key=None
            if body.fallback_key is None
            else one_time_key(body.fallback_key, fallback=True),
        )
        return json_response(wire.KeyCount(otk_count=count))

    @endpoint
    async def count(self, request: Request) -> Response:
        caller = await authenticated(request, self.s)
        return json_response(wire.KeyCount(otk_count=await self.s.keys.count(caller)))

    @endpoint
    async def claim(self, request: Request) -> Response:
        caller = await authenticated(request, self.s)
        body = await read_body(request, wire.ClaimRequest)
        claim = await self.s.keys.claim(caller, body.account_id, device_ids=body.device_ids)
        return json_response(
            wire.Claim(account_id=claim.account, devices=[claimed_json(d) for d in claim.devices])
        )

    @endpoint
    async def devices(self, request: Request) -> Response:
        caller = await authenticated(request, self.s)
        found = await self.s.keys.devices(caller, request.path_params["account_id"])
        return json_response(
            wire.DeviceList(account_id=found.account, devices=[device_json(d) for d in found.devices])
        )

    @endpoint
    async def lookup(self, request: Request) -> Response:
        caller = await authenticated(request, self.s)
        address = request.query_params.get("address")
        if not address or len(address) > MAX_ADDRESS:
            raise InvalidInput("give the address to look up: /v1/lookup?address=photo:alice")
        viewer = await self.s.directory.viewer(caller)
        found = await self.s.directory.lookup(viewer, address, device=caller.device)
        return json_response(person_json(found))

    @endpoint
    async def profile(self, request: Request) -> Response:
        caller = await authenticated(request, self.s)
        viewer = await self.s.directory.viewer(caller)
        found = await self.s.directory.profile(viewer, AccountId(request.path_params["account_id"]))
        return json_response(person_json(found))
