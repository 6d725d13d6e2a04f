"""``SandboxPayments``: the payment provider for development and tests (docs/commerce.md section 4,
"Test cards"). No money moves. It behaves as a card provider does where it matters to Passerelle:
one charge per idempotency key, declines, a charge that waits for the customer's authentication
and then succeeds, refunds once per key. It keeps its ledger in memory: a restart forgets pending
sandbox charges (the payment stays ``pending`` and can be paid again after it is failed by a retry
of ``confirm``).

| card | outcome |
|---|---|
| ``4242 4242 4242 4242`` | succeeds |
| ``4000 0000 0000 0002`` | declined (``card_declined``) |
| ``4000 0000 0000 9995`` | declined (``insufficient_funds``) |
| ``4000 0025 0000 3155`` | pending until the customer authenticates (``confirm``), then succeeds |

Any other number is declined (``incorrect_number``). A card number is never stored or logged: the
charge keeps ``card:<last four digits>``.
"""

from __future__ import annotations

import dataclasses
import secrets
from typing import Final

from passerelle.domain.commerce.money import Money
from passerelle.service.commerce.payments import Charge, ChargeState

SUCCEEDS: Final = "4242424242424242"
DECLINED: Final = "4000000000000002"
INSUFFICIENT_FUNDS: Final = "4000000000009995"
AUTHENTICATE: Final = "4000002500003155"
LEDGER_MAX: Final = 100_000
"""Charges the sandbox remembers (the oldest are forgotten first)."""


@dataclasses.dataclass(slots=True)
class _Charge:
    charge: Charge
    amount: Money
    reference: str
    refunded: bool = False


class SandboxPayments:
    name = "sandbox"

    def __init__(self) -> None:
        self._by_key: dict[str, _Charge] = {}
        self._by_ref: dict[str, _Charge] = {}
        self._refunds: dict[str, Charge] = {}
        self.captured: dict[str, int] = {}
        """Minor units captured per reference (the order id), for tests and the demo to check."""

    async def charge(self, *, idempotency_key: str, amount: Money, method: str, reference: str) -> Charge:
        held = self._by_key.get(idempotency_key)
        if held is not None:
            return held.charge
        card = "".join(c for c in method if c.isdigit())
        shown = f"card:{card[-4:]}" if card else "card"
        ref = "ch_sandbox_" + secrets.token_hex(8)
        if card == SUCCEEDS:
            charge = Charge(ref, ChargeState.SUCCEEDED, shown)
        elif card == AUTHENTICATE:
            charge = Charge(ref, ChargeState.PENDING, shown)
        elif card == INSUFFICIENT_FUNDS:
            charge = Charge(
                ref, ChargeState.FAILED, shown, "insufficient_funds:The card has insufficient funds."
            )
        elif card == DECLINED:
            charge = Charge(ref, ChargeState.FAILED, shown, "card_declined:The card was declined.")
        else:
            charge = Charge(
                ref, ChargeState.FAILED, shown, "incorrect_number:This is not a sandbox test card."
            )
        entry = _Charge(charge, amount, reference)
        if charge.state is ChargeState.SUCCEEDED:
            self._capture(entry, amount.minor)
        if len(self._by_key) >= LEDGER_MAX:
            gone = self._by_key.pop(next(iter(self._by_key)))
            self._by_ref.pop(gone.charge.ref, None)
        self._by_key[idempotency_key] = entry
        self._by_ref[ref] = entry
        return charge

    async def confirm(self, *, ref: str) -> Charge:
        entry = self._by_ref.get(ref)
        if entry is None:
            return Charge(
                ref, ChargeState.FAILED, "card", "unknown_charge:The sandbox does not know this charge."
            )
        if entry.charge.state is ChargeState.PENDING:
            entry.charge = dataclasses.replace(entry.charge, state=ChargeState.SUCCEEDED)
            self._capture(entry, entry.amount.minor)
        return entry.charge

    async def refund(self, *, idempotency_key: str, ref: str, amount: Money) -> Charge:
        held = self._refunds.get(idempotency_key)
        if held is not None:
            return held
        entry = self._by_ref.get(ref)
        if entry is None or entry.charge.state is not ChargeState.SUCCEEDED or entry.refunded:
            refund = Charge(ref, ChargeState.FAILED, "", "not_refundable:The charge cannot be refunded.")
        else:
            entry.refunded = True
            self._capture(entry, -amount.minor)
            refund = Charge("re_sandbox_" + secrets.token_hex(8), ChargeState.SUCCEEDED, entry.charge.method)
        if len(self._refunds) >= LEDGER_MAX:
            self._refunds.pop(next(iter(self._refunds)))
        self._refunds[idempotency_key] = refund
        return refund

    def _capture(self, entry: _Charge, minor: int) -> None:
        self.captured[entry.reference] = self.captured.get(entry.reference, 0) + minor
        if len(self.captured) > LEDGER_MAX:
            self.captured.pop(next(iter(self.captured)))
