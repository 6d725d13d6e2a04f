"""``business_store_for``, ``webhook_store_for``, ``endpoint_store_for`` and ``commerce_store_for``:
the ``BusinessStore``, the ``WebhookStore``, the ``EndpointStore`` and the ``CommerceStore``
on the same database as a ``Store`` (its engine for SQLite and PostgreSQL, its database for the
in-memory store)."""

from __future__ import annotations

from passerelle.service.business.endpoint_ports import EndpointStore
from passerelle.service.business.handoff_ports import HandOffStore
from passerelle.service.business.ports import BusinessStore
from passerelle.service.business.webhook_ports import WebhookStore
from passerelle.service.commerce.ports import CommerceStore
from passerelle.service.links.ports import LinkStore
from passerelle.service.ports import Store
from passerelle.storage.memory import MemoryStore
from passerelle.storage.memory.business import MemoryBusinessStore
from passerelle.storage.memory.commerce import MemoryCommerceStore
from passerelle.storage.memory.endpoints import MemoryEndpointStore
from passerelle.storage.memory.handoffs import MemoryHandOffStore
from passerelle.storage.memory.links import MemoryLinkStore
from passerelle.storage.memory.webhooks import MemoryWebhookStore
from passerelle.storage.sql.business import SqlBusinessStore
from passerelle.storage.sql.commerce import SqlCommerceStore
from passerelle.storage.sql.endpoints import SqlEndpointStore
from passerelle.storage.sql.handoffs import SqlHandOffStore
from passerelle.storage.sql.links import SqlLinkStore
from passerelle.storage.sql.store import SqlStore
from passerelle.storage.sql.webhooks import SqlWebhookStore


def business_store_for(store: Store) -> BusinessStore:
    if isinstance(store, MemoryStore):
        return MemoryBusinessStore(store)
    if isinstance(store, SqlStore):
        return SqlBusinessStore(store.engine)
    raise TypeError(f"no business store for {type(store).__name__}")


def webhook_store_for(store: Store) -> WebhookStore:
    if isinstance(store, MemoryStore):
        return MemoryWebhookStore(store)
    if isinstance(store, SqlStore):
        return SqlWebhookStore(store.engine)
    raise TypeError(f"no webhook store for {type(store).__name__}")


def endpoint_store_for(store: Store) -> EndpointStore:
    if isinstance(store, MemoryStore):
        return MemoryEndpointStore(store)
    if isinstance(store, SqlStore):
        return SqlEndpointStore(store.engine)
    raise TypeError(f"no endpoint store for {type(store).__name__}")


def handoff_store_for(store: Store) -> HandOffStore:
    if isinstance(store, MemoryStore):
        return MemoryHandOffStore(store)
    if isinstance(store, SqlStore):
        return SqlHandOffStore(store.engine)
    raise TypeError(f"no hand-off store for {type(store).__name__}")


def commerce_store_for(store: Store) -> CommerceStore:
    if isinstance(store, MemoryStore):
        return MemoryCommerceStore(store)
    if isinstance(store, SqlStore):
        return SqlCommerceStore(store.engine)
    raise TypeError(f"no commerce store for {type(store).__name__}")


def link_store_for(store: Store) -> LinkStore:
    if isinstance(store, MemoryStore):
        return MemoryLinkStore(store)
    if isinstance(store, SqlStore):
        return SqlLinkStore(store.engine)
    raise TypeError(f"no link store for {type(store).__name__}")
