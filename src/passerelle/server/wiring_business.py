"""The business side of the composition root (``server.wiring.build`` calls ``build_business``):
the Cloud API's businesses, their webhooks and quality, hand-offs, commerce and linked accounts.

Built after the accounts (the endpoints enrol devices) and before privacy and the janitor, which
take the people's erasure and export and the periodic clean-ups from here. ``business_sends`` is
built by ``build`` itself: the send path (``BusinessTraffic``, then messaging) needs it first.
"""

from __future__ import annotations

from dataclasses import dataclass

from passerelle.config import Settings
from passerelle.domain.business.templates import auto_approve_rule
from passerelle.domain.ids import AccountId
from passerelle.server.endpoint.hosted import HostedEndpoints
from passerelle.server.graph_registration import public_callback
from passerelle.server.metrics import Metrics
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.business.admin import BusinessAdmin
from passerelle.service.business.cloud import BlockUsers, CloudControl
from passerelle.service.business.endpoint_ports import EndpointStore
from passerelle.service.business.endpoints import BusinessEndpoints
from passerelle.service.business.evaluation import BusinessSignals, QualityEvaluation
from passerelle.service.business.feedback import BusinessFeedback
from passerelle.service.business.handoffs import HandOffs
from passerelle.service.business.people import BusinessPeople
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.preferences import MarketingPreferences
from passerelle.service.business.records import ConsentRecord
from passerelle.service.business.registration import WebhookRegistration
from passerelle.service.business.sends import BusinessSends
from passerelle.service.business.templates import Templates
from passerelle.service.business.traffic import person_blocked_by
from passerelle.service.business.webhook_ports import WebhookHttp
from passerelle.service.business.webhooks import WebhookPolicy, Webhooks
from passerelle.service.commerce.catalogs import Catalogs
from passerelle.service.commerce.events import CommerceEvents
from passerelle.service.commerce.orders import Orders
from passerelle.service.commerce.payments import Payments
from passerelle.service.commerce.sandbox import SandboxPayments
from passerelle.service.limiter import RateLimiter
from passerelle.service.links.links import Links
from passerelle.service.ports import Clock, IdGenerator, Store
from passerelle.service.safety import SafetyPolicy
from passerelle.storage.business import (
    commerce_store_for,
    handoff_store_for,
    link_store_for,
    webhook_store_for,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessSide:
    admin: BusinessAdmin
    people: BusinessPeople
    endpoints: BusinessEndpoints
    cloud: CloudControl
    registration: WebhookRegistration
    blocks: BlockUsers
    templates: Templates
    catalogs: Catalogs
    orders: Orders
    payments: Payments
    payment_provider: SandboxPayments
    signals: BusinessSignals
    feedback: BusinessFeedback
    quality: QualityEvaluation
    webhooks: Webhooks
    handoffs: HandOffs
    links: Links
    hosted: HostedEndpoints


def build_business(
    settings: Settings,
    *,
    store: Store,
    business_store: BusinessStore,
    endpoint_store: EndpointStore,
    business_sends: BusinessSends,
    accounts: AccountService,
    safety: SafetyPolicy,
    limiter: RateLimiter,
    metrics: Metrics,
    http: WebhookHttp,
    clock: Clock,
    ids: IdGenerator,
) -> BusinessSide:
    limits = settings.limits
    business_admin = BusinessAdmin(store=business_store, clock=clock, ids=ids)
    webhooks = Webhooks(
        store=webhook_store_for(store),
        businesses=business_store,
        http=http,
        meter=metrics.webhooks,
        clock=clock,
        policy=WebhookPolicy(
            timeout_s=settings.webhook_timeout_s,
            backoff_base_s=settings.webhook_backoff_base_s,
            backoff_cap_s=settings.webhook_backoff_cap_s,
            max_age_s=settings.webhook_max_age_s,
            concurrency=settings.webhook_concurrency,
            outbox_cap=settings.webhook_outbox_cap,
        ),
    )
    links = Links(store=link_store_for(store), businesses=business_store, clock=clock, ids=ids)
    preferences = MarketingPreferences(store=business_store, clock=clock, webhooks=webhooks, links=links)
    signals = BusinessSignals(store=business_store, clock=clock)

    async def on_consent(change: ConsentRecord) -> None:
        await preferences.changed(change)
        await signals.consent_changed(change)

    business_people = BusinessPeople(
        store=business_store,
        clock=clock,
        on_consent=on_consent,
        limiter=limiter,
        limits=limits,
        links=links,
    )
    endpoints = BusinessEndpoints(
        store=endpoint_store,
        businesses=business_store,
        devices=store,
        accounts=accounts,
        clock=clock,
        ids=ids,
        operator=settings.operator_name,
    )
    cloud = CloudControl(store=business_store, admin=business_admin)
    blocks = BlockUsers(store=business_store, cloud=cloud, clock=clock)
    handoffs = HandOffs(
        store=handoff_store_for(store),
        businesses=business_store,
        cloud=cloud,
        webhooks=webhooks,
        clock=clock,
        ids=ids,
    )
    registration = WebhookRegistration(
        store=business_store,
        cloud=cloud,
        webhooks=webhooks,
        check_url=None if settings.business_webhook_private_urls else public_callback,
    )
    templates = Templates(
        store=business_store,
        clock=clock,
        ids=ids,
        webhooks=webhooks,
        auto_approve=auto_approve_rule(settings.business_template_auto_approve),
        cap=limits.business_templates_per_waba,
    )
    feedback = BusinessFeedback(
        store=business_store, endpoints=endpoint_store, signals=signals, limiter=limiter
    )
    quality = QualityEvaluation(
        store=business_store,
        clock=clock,
        templates=templates,
        cap=limits.business_templates_per_waba,
        webhooks=webhooks,
    )
    commerce_store = commerce_store_for(store)

    async def display_name(account: AccountId) -> str:
        found = await store.get_account(account)
        return "" if found is None else found.display_name

    commerce_events = CommerceEvents(
        businesses=business_store, webhooks=webhooks, clock=clock, display_name=display_name, links=links
    )
    catalogs = Catalogs(store=commerce_store, businesses=business_store, clock=clock)
    orders = Orders(
        store=commerce_store,
        businesses=business_store,
        events=commerce_events,
        sends=business_sends,
        clock=clock,
        person_blocked=person_blocked_by(endpoint_store, safety),
        links=links,
    )
    payment_provider = SandboxPayments()
    payments = Payments(
        store=commerce_store, orders=orders, provider=payment_provider, events=commerce_events, clock=clock
    )
    return BusinessSide(
        admin=business_admin,
        people=business_people,
        endpoints=endpoints,
        cloud=cloud,
        registration=registration,
        blocks=blocks,
        templates=templates,
        catalogs=catalogs,
        orders=orders,
        payments=payments,
        payment_provider=payment_provider,
        signals=signals,
        feedback=feedback,
        quality=quality,
        webhooks=webhooks,
        handoffs=handoffs,
        links=links,
        hosted=HostedEndpoints(
            data_dir=settings.data_dir,
            endpoints=endpoints,
            webhooks=webhooks,
            enabled=settings.hosted_endpoints,
            public_url=settings.public_url,
        ),
    )
