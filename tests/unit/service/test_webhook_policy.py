"""The webhook sender's arithmetic (docs/business.md section 9): the signature pywa checks, the
backoff (doubling, capped, jittered between half and all of it) and the hints shown of secrets."""

from __future__ import annotations

import hashlib
import hmac
import random

from passerelle.service.business.webhooks import WebhookPolicy, hint, signature


def test_the_signature_is_pywas() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    # pywa 4.5 utils.py: hmac.new(app_secret.encode(), body, sha256).hexdigest()
    assert signature("s3cret", body) == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()


def test_the_backoff_doubles_is_capped_and_jittered() -> None:
    policy = WebhookPolicy(backoff_base_s=1.0, backoff_cap_s=60.0)
    rng = random.Random(7)
    for attempts, full in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (40, 60.0), (10_000, 60.0)]:
        waits = [policy.backoff_s(attempts, rng) for _ in range(200)]
        assert all(full / 2 <= w <= full for w in waits)
        assert max(waits) - min(waits) > full / 4  # spread: businesses failing together do not retry together


def test_secrets_are_shown_as_hints() -> None:
    assert hint("a-long-verify-token-1234") == "…1234"
    assert hint("short") == "…"
