"""``passerelle.bot``: one bot for a business's customers on every app, through the Cloud API of
its business endpoint (docs/bots.md)."""

from passerelle.bot import filters
from passerelle.bot.app import Bot
from passerelle.bot.cloud import CloudApi, CloudError, Section
from passerelle.bot.context import Context
from passerelle.bot.middleware import log_updates, polite_errors
from passerelle.bot.state import State, StateStore
from passerelle.bot.updates import Choice, Customer, HandOff, Media, Message, Order, Payment, Status, Update

__all__ = [
    "Bot",
    "Choice",
    "CloudApi",
    "CloudError",
    "Context",
    "Customer",
    "HandOff",
    "Media",
    "Message",
    "Order",
    "Payment",
    "Section",
    "State",
    "StateStore",
    "Status",
    "Update",
    "filters",
    "log_updates",
    "polite_errors",
]
