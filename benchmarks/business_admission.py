"""Micro-benchmark of a business send's admission (docs/business.md section 5): admits per second and
µs of CPU per admit, on the real stores.

    .venv/bin/python benchmarks/business_admission.py [--sends N] [--concurrency C]

Runs on SQLite (a temporary file) and, when PASSERELLE_BENCH_POSTGRES_URL or
PASSERELLE_TEST_POSTGRES_URL is set, on PostgreSQL (a temporary schema, dropped afterwards).

Cases, each over ``--sends`` distinct people with ``--concurrency`` admissions in flight:
- ``reply``: a text inside the 24-hour window (blocks, the window: 4 reads);
- ``campaign``: an approved utility template to opted-in people outside the window — the whole
  rule set, and the new person recorded against the tier with the other sends of the moment, one
  transaction per batch (``ReachWriter``; the bench scenario (g)'s "template campaign to 10 000
  opted-in people").
The throughput and pair buckets are set out of the way (they cost no store call). "cpu" is this
process's CPU time (the event loop and SQLite's threads) per admit.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import asyncpg

from passerelle.domain.business.consent import Category, ConsentSource, ConsentState, Scope
from passerelle.domain.business.ids import TemplateId
from passerelle.domain.business.quality import Quality, TemplateStatus
from passerelle.domain.business.tiers import Tier
from passerelle.domain.ids import AccountId
from passerelle.domain.limits import Limits
from passerelle.server.system import RandomIds, SystemClock
from passerelle.service.business.admin import BusinessAdmin
from passerelle.service.business.records import BusinessProfile, ConsentRecord, Evaluation, TemplateRecord
from passerelle.service.business.sends import BusinessSends, DeclaredSend
from passerelle.service.limiter import RateLimiter
from passerelle.service.ports import Store
from passerelle.storage import PostgresStore, SqliteStore
from passerelle.storage.business import business_store_for
from passerelle.storage.ratelimits.memory import MemoryRateLimits

POSTGRES_URL = os.environ.get("PASSERELLE_BENCH_POSTGRES_URL") or os.environ.get(
    "PASSERELLE_TEST_POSTGRES_URL", ""
)
FAST = dataclasses.replace(Limits(), business_sends_per_second=1e9, business_pair_burst=1_000_000)


async def run_cases(store: Store, sends_n: int, concurrency: int) -> dict[str, dict[str, float]]:
    clock = SystemClock()
    biz = business_store_for(store)
    admin = BusinessAdmin(store=biz, clock=clock, ids=RandomIds())
    owner = await admin.create(f"bench-{secrets.token_hex(3)}", BusinessProfile(name="Bench"))
    waba = await admin.add_account(owner.id, "main")
    number = await admin.add_number(owner.id, waba.id, str(33100000000 + secrets.randbelow(10**8)))
    # an unlimited tier, as a business that sends campaigns of 10 000 would have
    evaluated = Evaluation(waba=waba.id, red_streak=0, evaluated_at=clock.now_ms())
    await biz.save_evaluation(evaluated, tier=Tier.TIER_UNLIMITED, expected_at=None)
    now = clock.now_ms()
    await biz.add_template(
        TemplateRecord(
            id=TemplateId(str(10**14 + secrets.randbelow(9 * 10**14))),
            waba=waba.id,
            name="receipt",
            language="en_US",
            category=Category.UTILITY,
            parameter_format="POSITIONAL",
            components=json.dumps([{"type": "BODY", "text": "Hello {{1}}"}]),
            status=TemplateStatus.APPROVED,
            quality=Quality.UNKNOWN,
            created_at=now,
            updated_at=now,
        ),
        cap=250,
    )
    sends = BusinessSends(store=biz, clock=clock, limiter=RateLimiter(MemoryRateLimits(clock)), limits=FAST)
    repliers = [AccountId(f"acc_r{n}") for n in range(sends_n)]
    campaign = [AccountId(f"acc_c{n}") for n in range(sends_n)]
    for who in repliers:
        await biz.note_inbound(owner.id, who, at=now)
    for who in campaign:
        consent = ConsentRecord(
            account=who,
            business=owner.id,
            scope=Scope.UTILITY,
            state=ConsentState.GRANTED,
            source=ConsentSource.SDK,
            at=now,
        )
        await biz.record_consent(consent)

    async def case(people: list[AccountId], declared: DeclaredSend) -> dict[str, float]:
        queue = list(people)

        async def worker() -> None:
            while queue:
                who = queue.pop()
                await sends.admit(business=owner.id, person=who, declared=declared)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return {
            "admits_per_s": round(len(people) / wall),
            "cpu_us": round(cpu / len(people) * 1e6),
            "wall_us": round(wall / len(people) * 1e6),
        }

    reply = DeclaredSend(number=number.id, kind="text", wamid="wamid.bench")
    template = DeclaredSend(
        number=number.id, kind="template", wamid="wamid.bench", template="receipt", language="en_US"
    )
    return {"reply": await case(repliers, reply), "campaign": await case(campaign, template)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="passerelle-admission-"))
    try:
        sqlite = SqliteStore(folder / "bench.db")
        await sqlite.open()
        try:
            print("sqlite", json.dumps(await run_cases(sqlite, args.sends, args.concurrency)))
        finally:
            await sqlite.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if POSTGRES_URL:
        schema = f"passerelle_bench_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'CREATE SCHEMA "{schema}"')
            postgres = PostgresStore(POSTGRES_URL, search_path=schema)
            await postgres.open()
            try:
                print("postgres", json.dumps(await run_cases(postgres, args.sends, args.concurrency)))
            finally:
                await postgres.close()
        finally:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
