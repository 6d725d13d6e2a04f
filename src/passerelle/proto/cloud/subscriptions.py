"""The Graph calls a bot makes to register its own webhook (../shared/reference/cloud-api.md
sections 1.4 and 4.6; docs/business.md section 9, "A bot registers its own webhook"): pywa's
``callback_url=`` at start, in the app scope (an app token, then ``POST /{app_id}/subscriptions``),
the WABA scope (``POST /{waba_id}/subscribed_apps``) or the number's (``POST /{phone_number_id}``)."""

from __future__ import annotations

from passerelle.proto.cloud.limits import Short, Url
from passerelle.proto.cloud.messages import Body, always


class AppToken(Body):
    """``GET /oauth/access_token?grant_type=client_credentials&client_id=&client_secret=``."""

    access_token: str
    token_type: str = always("bearer")


class SubscribedApps(Body):
    """``POST /{waba_id}/subscribed_apps``: the account's webhook moved to another URL."""

    override_callback_uri: Url | None = None
    verify_token: Short | None = None


class WebhookConfiguration(Body):
    override_callback_uri: Url | None = None
    verify_token: Short | None = None


class NumberSettings(Body):
    """``POST /{phone_number_id}``: the number's settings; only ``webhook_configuration`` is taken."""

    webhook_configuration: WebhookConfiguration | None = None
