"""REST endpoints of apps, accounts, devices, login and settings (docs/protocol.md sections 4.1 to
4.6). Each handler reads and checks the request, calls one use case and renders its answer."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.apps import App, IdentityKind
from passerelle.domain.errors import InvalidInput
from passerelle.domain.ids import AppName
from passerelle.domain.privacy import Findability
from passerelle.proto.openapi import Auth
from passerelle.proto.rest import accounts as wire
from passerelle.server.declared import route
from passerelle.server.rest.io import (
    RestServices,
    authenticated,
    client_key,
    endpoint,
    json_response,
    read_body,
)
from passerelle.service.accounts.accounts import (
    AccountSettings,
    DeviceSession,
    NewDevice,
    PasswordProof,
    PhoneProof,
    Proof,
)
from passerelle.service.records import DeviceRecord


def device_json(device: DeviceRecord) -> wire.PublishedDevice:
    """A device as every answer shows it: its id and its signed public keys."""
    return wire.PublishedDevice(
        device_id=device.id,
        name=device.name,
        curve25519=device.curve25519,
        ed25519=device.ed25519,
        signature=device.signature,
    )


def session_json(session: DeviceSession) -> wire.DeviceGrant:
    return wire.DeviceGrant(
        account_id=session.account,
        device_id=session.device,
        token=session.token,
        expires_at=session.expires_at,
        address=str(session.address),
    )


def settings_json(settings: AccountSettings) -> wire.AccountSettings:
    return wire.AccountSettings(findability=settings.findability.value, read_receipts=settings.read_receipts)


def new_device(device: wire.NewDevice) -> NewDevice:
    return NewDevice(
        name=device.name, curve25519=device.curve25519, ed25519=device.ed25519, signature=device.signature
    )


def proof(body: wire.IdentityBody, app: App) -> Proof:
    """The identity proof the app takes: phone and code, or alias and password, and no other field."""
    given = {
        name
        for name in ("phone", "code", "handle", "username", "password")
        if getattr(body, name) is not None
    }
    if app.identity is IdentityKind.PHONE:
        wanted, alias = {"phone", "code"}, body.phone
    elif app.identity is IdentityKind.HANDLE:
        wanted, alias = {"handle", "password"}, body.handle
    else:
        wanted, alias = {"username", "password"}, body.username
    if given != wanted:
        fields = " and ".join(sorted(wanted))
        raise InvalidInput(
            f"app {app.name} (identity {app.identity}) takes {fields}, and no other identity field"
        )
    if app.identity is IdentityKind.PHONE:
        assert body.phone is not None
        assert body.code is not None
        return PhoneProof(phone=body.phone, code=body.code)
    assert alias is not None
    assert body.password is not None
    return PasswordProof(alias=alias, password=body.password)


TAG = "Accounts and devices"
NONE = Auth.NONE


class AccountRoutes:
    def __init__(self, services: RestServices) -> None:
        self.s = services

    def routes(self) -> list[BaseRoute]:
        return [
            route(
                "GET",
                "/v1/apps",
                self.list_apps,
                answers={200: wire.Apps},
                auth=NONE,
                tag=TAG,
                summary="The apps this server serves",
            ),
            route(
                "POST",
                "/v1/codes",
                self.request_code,
                body=wire.CodeRequest,
                answers={202: wire.CodeSent},
                auth=NONE,
                tag=TAG,
                summary="Send a verification code to a phone number",
            ),
            route(
                "POST",
                "/v1/accounts",
                self.register,
                body=wire.Register,
                answers={201: wire.DeviceGrant},
                auth=NONE,
                tag=TAG,
                summary="Register an account and its first device",
            ),
            route(
                "POST",
                "/v1/devices",
                self.add_device,
                body=wire.AddDevice,
                answers={201: wire.DeviceGrant},
                auth=NONE,
                tag=TAG,
                summary="Add a device to an account (proving the identity again)",
            ),
            route(
                "DELETE",
                "/v1/devices/{device_id}",
                self.remove_device,
                answers={204: None},
                tag=TAG,
                summary="Remove one of the caller's devices",
            ),
            route(
                "POST",
                "/v1/auth/challenge",
                self.challenge,
                body=wire.ChallengeRequest,
                answers={200: wire.Challenge},
                auth=NONE,
                tag=TAG,
                summary="A challenge for a device to sign",
            ),
            route(
                "POST",
                "/v1/auth/token",
                self.token,
                body=wire.TokenRequest,
                answers={200: wire.DeviceGrant},
                auth=NONE,
                tag=TAG,
                summary="A new token for a signed challenge",
            ),
            route(
                "GET",
                "/v1/me",
                self.me,
                answers={200: wire.Me},
                tag=TAG,
                summary="The caller's account, settings and devices",
            ),
            route(
                "PATCH",
                "/v1/me/settings",
                self.update_settings,
                body=wire.SettingsChange,
                answers={200: wire.AccountSettings},
                tag=TAG,
                summary="Change the account's settings",
            ),
        ]

    @endpoint
    async def list_apps(self, request: Request) -> Response:
        apps = [
            wire.AppInfo(
                name=app.name,
                display_name=app.display_name,
                identity=app.identity.value,
                colors=dict(app.colors),
                features=sorted(app.features),
            )
            for app in self.s.apps
        ]
        stop = {language: list(words) for language, words in sorted(self.s.stop_words.items())}
        return json_response(wire.Apps(apps=apps, business_stop_words=stop))

    @endpoint
    async def request_code(self, request: Request) -> Response:
        body = await read_body(request, wire.CodeRequest)
        expires_in = await self.s.accounts.request_code(
            app=body.app, phone=body.phone, client=client_key(request)
        )
        return json_response(wire.CodeSent(expires_in=expires_in), status=202)

    def _proof(self, body: wire.IdentityBody) -> tuple[AppName, Proof]:
        """The app named in a registration or a new device, and the identity proof it takes."""
        app = self.s.apps.get(body.app)
        if app is None:
            raise InvalidInput(f"unknown app {body.app[:32]!r}")
        return app.name, proof(body, app)

    @endpoint
    async def register(self, request: Request) -> Response:
        body = await read_body(request, wire.Register)
        app, given = self._proof(body)
        device, client = new_device(body.device), client_key(request)
        session = await self.s.accounts.register(
            app=app, proof=given, display_name=body.display_name, device=device, client=client
        )
        return json_response(session_json(session), status=201)

    @endpoint
    async def add_device(self, request: Request) -> Response:
        body = await read_body(request, wire.AddDevice)
        app, given = self._proof(body)
        device = new_device(body.device)
        session = await self.s.accounts.add_device(
            app=app, proof=given, device=device, client=client_key(request)
        )
        return json_response(session_json(session), status=201)

    @endpoint
    async def remove_device(self, request: Request) -> Response:
        caller = await authenticated(request, self.s)
        await self.s.accounts.remove_device(caller, request.path_params["device_id"])
        return Response(status_code=204)

    @endpoint
    async def challenge(self, request: Request) -> Response:
        body = await read_body(request, wire.ChallengeRequest)
        challenge = await self.s.accounts.challenge(body.device_id, client=client_key(request))
        return json_response(wire.Challenge(challenge=challenge.challenge, expires_in=challenge.expires_in_s))

    @endpoint
    async def token(self, request: Request) -> Response:
        body = await read_body(request, wire.TokenRequest)
        session = await self.s.accounts.token_from_signature(
            body.device_id, body.challenge, body.signature, client=client_key(request)
        )
        return json_response(session_json(session))

    @endpoint
    async def me(self, request: Request) -> Response:
        caller = await authenticated(request, self.s)
        me = await self.s.accounts.me(caller)
        return json_response(
            wire.Me(
                account_id=me.account.id,
                app=me.account.app,
                address=str(me.address),
                display_name=me.account.display_name,
                device_id=me.device,
                settings=settings_json(me.settings),
                devices=[device_json(d) for d in me.devices],
            )
        )

    @endpoint
    async def update_settings(self, request: Request) -> Response:
        caller = await authenticated(request, self.s)
        body = await read_body(request, wire.SettingsChange)
        settings = await self.s.accounts.update_settings(
            caller,
            findability=Findability(body.findability) if body.findability is not None else None,
            read_receipts=body.read_receipts,
        )
        return json_response(settings_json(settings))
