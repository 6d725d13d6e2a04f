"""A business's webhook in the operator's admin API (docs/business.md section 9, docs/protocol.md
section 15): ``PUT /v1/admin/businesses/{business}/webhook`` sets it after the handshake passed,
``GET`` shows it (secrets as hints), ``DELETE`` removes it. ``admin_token`` as the rest of the
admin API."""

from __future__ import annotations

from msgspec import UNSET
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.proto.openapi import Auth
from passerelle.proto.rest.webhooks import SetWebhook, WebhookOut
from passerelle.server.auth import require_operator
from passerelle.server.declared import route
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.business.webhook_ports import WebhookConfig
from passerelle.service.business.webhooks import Webhooks, hint

PATH = "/v1/admin/businesses/{business}/webhook"
TAG = "Admin: businesses"


def webhook_out(config: WebhookConfig, pending: int, *, show_secret: bool = False) -> WebhookOut:
    return WebhookOut(
        business_id=config.business,
        callback_url=config.callback_url,
        verify_token_hint=hint(config.verify_token),
        app_secret_hint=hint(config.app_secret),
        updated_at=config.updated_at,
        pending=pending,
        app_secret=config.app_secret if show_secret else UNSET,
    )


class WebhookRoutes:
    def __init__(self, *, webhooks: Webhooks, admin_token: str) -> None:
        self._webhooks = webhooks
        self._admin_token = admin_token

    def routes(self) -> list[BaseRoute]:
        return [
            route(
                "PUT",
                PATH,
                self.set,
                body=SetWebhook,
                answers={200: WebhookOut},
                auth=Auth.ADMIN,
                tag=TAG,
                summary="Set a business's webhook (after the verification handshake passed)",
            ),
            route(
                "GET",
                PATH,
                self.get,
                answers={200: WebhookOut},
                auth=Auth.ADMIN,
                tag=TAG,
                summary="A business's webhook (secrets as hints)",
            ),
            route(
                "DELETE",
                PATH,
                self.clear,
                answers={204: None},
                auth=Auth.ADMIN,
                tag=TAG,
                summary="Remove a business's webhook",
            ),
        ]

    def _operator(self, request: Request) -> None:
        require_operator(request, self._admin_token, api="admin")

    @endpoint
    async def set(self, request: Request) -> Response:
        self._operator(request)
        body = await read_body(request, SetWebhook)
        business = request.path_params["business"]
        config, made = await self._webhooks.configure(
            business,
            callback_url=body.callback_url,
            verify_token=body.verify_token,
            app_secret=body.app_secret,
        )
        pending = await self._webhooks.pending(business)
        return json_response(webhook_out(config, pending, show_secret=made))

    @endpoint
    async def get(self, request: Request) -> Response:
        self._operator(request)
        business = request.path_params["business"]
        config = await self._webhooks.show(business)
        return json_response(webhook_out(config, await self._webhooks.pending(business)))

    @endpoint
    async def clear(self, request: Request) -> Response:
        self._operator(request)
        await self._webhooks.clear(request.path_params["business"])
        return Response(status_code=204)
