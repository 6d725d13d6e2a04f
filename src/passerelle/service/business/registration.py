"""``WebhookRegistration``: a bot registers its own webhook through the Graph API, as pywa does at
start with ``callback_url=`` (docs/business.md section 9, "A bot registers its own webhook";
../shared/reference/cloud-api.md sections 1.4 and 4.6).

- The app scope: ``GET /oauth/access_token`` (``client_credentials``: the app's id and secret) gives
  an app token, then ``POST /{app_id}/subscriptions`` sets the callback URL, the verify token and the
  app secret. A business's app id is the id of one of its WhatsApp business accounts (any of them:
  a business has one webhook). The app token is Meta's ``{app_id}|{app_secret}`` form.
- The WABA scope (``POST /{waba_id}/subscribed_apps``) and the number's (``POST /{phone_number_id}``
  with ``webhook_configuration``) move the business's webhook to another URL and verify token; they
  keep its app secret, so the webhook must be set already (by the app scope or the operator), as at
  Meta, where an override needs the app's own webhook.
- Who may: the business's own system-user token, or the app's secret once the business has one (the
  app scope only). An app id, account or number of another business is "no such object", whether it
  exists or not.
- Every change runs Meta's ``GET`` handshake against the URL first (``Webhooks.configure``); the
  server refuses a URL on a non-public address unless its operator allows them (``check_url``).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from passerelle.domain.business.errors import CloudApiError, Failure
from passerelle.domain.business.ids import BusinessId, PhoneNumberId, WabaId, is_numeric_id
from passerelle.service.business.cloud import CloudControl, unknown_object_details
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.records import SystemTokenRecord
from passerelle.service.business.webhooks import Webhooks

APP_TOKEN_SEPARATOR = "|"
SUBSCRIBED_OBJECT = "whatsapp_business_account"


class WebhookRegistration:
    def __init__(
        self,
        *,
        store: BusinessStore,
        cloud: CloudControl,
        webhooks: Webhooks,
        check_url: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """``check_url``: raises for a callback URL a business may not register itself (the
        server's: a non-public address); None: any."""
        self._store = store
        self._cloud = cloud
        self._webhooks = webhooks
        self._check_url = check_url

    # -- the app scope ------------------------------------------------------------------------------

    async def app_token(self, *, grant_type: str, client_id: str, client_secret: str, bearer: str) -> str:
        """The app token of ``client_id`` for whoever holds the business's token or its app secret."""
        if grant_type != "client_credentials":
            raise CloudApiError(Failure.INVALID_PARAMETER, "must be client_credentials", field="grant_type")
        business = await self._app(client_id)
        if not client_secret:
            raise CloudApiError(Failure.INVALID_PARAMETER, "is required", field="client_secret")
        await self._check_holder(business, client_id, secret=client_secret, bearer=bearer)
        return f"{client_id}{APP_TOKEN_SEPARATOR}{client_secret}"

    async def subscribe_app(
        self,
        app_id: str,
        *,
        access_token: str,
        bearer: str,
        subscribed: str,
        callback_url: str,
        verify_token: str,
    ) -> None:
        """``POST /{app_id}/subscriptions``: the business's webhook, with the app token's secret as
        its app secret (the one that signs the webhooks), once the handshake passed."""
        if subscribed != SUBSCRIBED_OBJECT:
            raise CloudApiError(Failure.INVALID_PARAMETER, f"must be {SUBSCRIBED_OBJECT}", field="object")
        business = await self._app(app_id)
        token_app, separator, secret = access_token.partition(APP_TOKEN_SEPARATOR)
        if not separator or token_app != app_id or not secret:
            raise CloudApiError(Failure.BAD_TOKEN, "The access token is not this app's token.")
        await self._check_holder(business, app_id, secret=secret, bearer=bearer)
        if self._check_url is not None:
            await self._check_url(callback_url)
        await self._webhooks.configure(
            business,
            callback_url=callback_url,
            verify_token=verify_token,
            app_secret=secret,
            public_only=self._check_url is not None,
        )

    async def _app(self, app_id: str) -> BusinessId:
        found = await self._store.get_business_account(WabaId(app_id)) if is_numeric_id(app_id) else None
        if found is None:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(app_id))
        return found.business

    async def _check_holder(self, business: BusinessId, app_id: str, *, secret: str, bearer: str) -> None:
        """The business's own system-user token, or (without a token) its app secret."""
        if bearer:
            caller = await self._cloud.authenticate(bearer)  # a bad token is 190, as everywhere
            if caller.business == business:
                return
        else:
            config = await self._webhooks.config_of(business)
            if config is not None and hmac.compare_digest(config.app_secret.encode(), secret.encode()):
                return
        raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(app_id))

    # -- the account's and the number's overrides ---------------------------------------------------

    async def override_account(
        self, caller: SystemTokenRecord, waba_id: str, *, callback_url: str | None, verify_token: str | None
    ) -> None:
        """``POST /{waba_id}/subscribed_apps``."""
        found = await self._store.get_business_account(WabaId(waba_id)) if is_numeric_id(waba_id) else None
        if found is None or found.business != caller.business:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(waba_id))
        await self._override(found.business, callback_url, verify_token, "override_callback_uri")

    async def override_number(
        self, caller: SystemTokenRecord, number_id: str, *, callback_url: str | None, verify_token: str | None
    ) -> None:
        """``POST /{phone_number_id}`` with ``webhook_configuration``."""
        found = await self._store.get_number(PhoneNumberId(number_id)) if is_numeric_id(number_id) else None
        if found is None or found.business != caller.business:
            raise CloudApiError(Failure.UNKNOWN_OBJECT, unknown_object_details(number_id))
        field = "webhook_configuration.override_callback_uri"
        await self._override(found.business, callback_url, verify_token, field)

    async def _override(
        self, business: BusinessId, callback_url: str | None, verify_token: str | None, field: str
    ) -> None:
        if callback_url is None:
            return  # the app stays subscribed to the account: nothing changes
        if not verify_token:
            raise CloudApiError(
                Failure.INVALID_PARAMETER,
                "is required with an override callback URL",
                field=field.replace("override_callback_uri", "verify_token"),
            )
        config = await self._webhooks.config_of(business)
        if config is None:
            raise CloudApiError(
                Failure.INVALID_PARAMETER,
                "cannot override: the business has no webhook yet (register the app's first, "
                "callback_url_scope APP, or ask the operator)",
                field=field,
            )
        if self._check_url is not None:
            await self._check_url(callback_url)
        await self._webhooks.configure(
            business,
            callback_url=callback_url,
            verify_token=verify_token,
            app_secret=config.app_secret,
            public_only=self._check_url is not None,
        )
