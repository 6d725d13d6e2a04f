"""The Graph calls by which a bot registers its own webhook (``service.business.registration``;
docs/business.md section 9, "A bot registers its own webhook"): the app token, the app's
subscription, and the account's and the number's overrides. Served by the server; a self-run
endpoint forwards them (``server.endpoint.http``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.proto.cloud.codec import encode
from passerelle.proto.cloud.responses import Success
from passerelle.proto.cloud.subscriptions import AppToken, NumberSettings, SubscribedApps
from passerelle.proto.openapi import Auth, Param
from passerelle.server.declared import check_auth, graph_route, query_value
from passerelle.server.endpoint.media import public_address
from passerelle.server.graph import JSON, graph_endpoint_of, read_cloud
from passerelle.service.business.cloud import CloudControl
from passerelle.service.business.records import SystemTokenRecord
from passerelle.service.business.registration import WebhookRegistration

OAUTH_PATH = "/oauth/access_token"
SECRET = Param(str, required=True, description="The app's secret (the one that signs the webhooks)")


async def public_callback(url: str) -> None:
    """A callback URL a business registers itself must be on a public address (the server would
    call any other for it: its own network, a neighbour's), unless the operator allows them
    (``business_webhook_private_urls``). Checked when registered: the webhooks' posts resolve the name
    again."""
    try:
        await public_address(url)
    except CloudApiError:
        raise CloudApiError(
            Failure.INVALID_PARAMETER,
            "must be on a public address (this server does not call private ones for a bot)",
            field="callback_url",
        ) from None


def _bearer(request: Request) -> str:
    check_auth(request, Auth.SYSTEM_USER)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class RegistrationRoutes:
    def __init__(self, cloud: CloudControl, registration: WebhookRegistration) -> None:
        self._cloud = cloud
        self._registration = registration

    def routes(self) -> list[BaseRoute]:
        return [
            graph_route(
                "GET",
                OAUTH_PATH,
                graph_endpoint_of(self.app_token),
                answers={200: AppToken},
                query={
                    "grant_type": Param(str, required=True, description="`client_credentials`"),
                    "client_id": Param(
                        str, required=True, description="The app's id: one of the business's WABA ids"
                    ),
                    "client_secret": SECRET,
                },
                summary="An app token (the client-credentials grant), for the app's subscription",
                description="For the business's own system-user token, or (without one) the app's id "
                "and the app secret the business's webhook has. docs/business.md section 9.",
            ),
            graph_route(
                "POST",
                "/{app_id}/subscriptions",
                graph_endpoint_of(self.subscribe),
                answers={200: Success},
                query={
                    "object": Param(str, required=True, description="`whatsapp_business_account`"),
                    "callback_url": Param(str, required=True, description="The bot's webhook URL"),
                    "verify_token": Param(str, required=True, description="Echoed in the handshake"),
                    "fields": Param(str, description="Comma-separated fields (every event is posted)"),
                    "access_token": Param(str, required=True, description="The app token"),
                },
                summary="Set the business's webhook (the app scope), after the GET handshake",
                description="The app token's secret becomes the webhook's app secret.",
            ),
            graph_route(
                "POST",
                "/{waba_id}/subscribed_apps",
                graph_endpoint_of(self.override_account),
                body=SubscribedApps,
                answers={200: Success},
                summary="Move the business's webhook to another URL (the account scope)",
                description="Keeps the app secret: the business must have a webhook already.",
            ),
            graph_route(
                "POST",
                "/{phone_number_id}",
                graph_endpoint_of(self.override_number),
                body=NumberSettings,
                answers={200: Success},
                summary="A number's settings: its webhook_configuration (the number scope)",
                description="Moves the business's webhook (one for all its numbers) to another URL; "
                "keeps the app secret: the business must have a webhook already.",
            ),
        ]

    async def _caller(self, request: Request) -> SystemTokenRecord:
        return await self._cloud.authenticate(_bearer(request))

    async def app_token(self, request: Request) -> Response:
        token = await self._registration.app_token(
            grant_type=query_value(request, "grant_type"),
            client_id=query_value(request, "client_id"),
            client_secret=query_value(request, "client_secret"),
            bearer=_bearer(request),
        )
        return Response(encode(AppToken(access_token=token)), media_type=JSON)

    async def subscribe(self, request: Request) -> Response:
        query_value(request, "fields")  # every event is posted, whatever the fields
        await self._registration.subscribe_app(
            request.path_params["app_id"],
            access_token=query_value(request, "access_token"),
            bearer=_bearer(request),
            subscribed=query_value(request, "object"),
            callback_url=query_value(request, "callback_url"),
            verify_token=query_value(request, "verify_token"),
        )
        return Response(encode(Success()), media_type=JSON)

    async def override_account(self, request: Request) -> Response:
        caller = await self._caller(request)
        body = await read_cloud(request, SubscribedApps)
        await self._registration.override_account(
            caller,
            request.path_params["waba_id"],
            callback_url=body.override_callback_uri,
            verify_token=body.verify_token,
        )
        return Response(encode(Success()), media_type=JSON)

    async def override_number(self, request: Request) -> Response:
        caller = await self._caller(request)
        body = await read_cloud(request, NumberSettings)
        hook = body.webhook_configuration
        await self._registration.override_number(
            caller,
            request.path_params["phone_number_id"],
            callback_url=None if hook is None else hook.override_callback_uri,
            verify_token=None if hook is None else hook.verify_token,
        )
        return Response(encode(Success()), media_type=JSON)
