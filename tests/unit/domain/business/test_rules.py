"""The window, consent and STOP words, tiers, quality, the error table and how a send is judged."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passerelle.domain.business.consent import DEFAULT_STOP_WORDS, Category, Scope, fold, is_stop, stop_words
from passerelle.domain.business.errors import ERRORS, CloudApiError, Failure
from passerelle.domain.business.quality import (
    MIN_SAMPLE,
    Quality,
    Signals,
    TemplateStatus,
    after_red,
    rate,
)
from passerelle.domain.business.sends import SendFacts, judge
from passerelle.domain.business.tiers import TIERS, Tier, next_tier, within_limit
from passerelle.domain.business.window import WINDOW_MS, window_open
from passerelle.domain.ids import Timestamp

# -- the window ------------------------------------------------------------------------------


def test_the_window_is_open_for_24_hours_after_the_last_inbound_message() -> None:
    assert not window_open(None, Timestamp(5))
    assert window_open(Timestamp(1000), Timestamp(1000))
    assert window_open(Timestamp(1000), Timestamp(1000 + WINDOW_MS - 1))
    assert not window_open(Timestamp(1000), Timestamp(1000 + WINDOW_MS))


def test_a_message_noted_after_the_judges_clock_keeps_the_window_open() -> None:
    # The admission reads its clock, then the window: a message the person sent in between (or a
    # node whose clock is a little ahead) is newer than ``now``; the person did write.
    assert window_open(Timestamp(1001), Timestamp(1000))


# -- STOP ------------------------------------------------------------------------------------

WORDS = stop_words(DEFAULT_STOP_WORDS)


@pytest.mark.parametrize(
    "text", ["STOP", "stop", " Stop! ", "Arrêt", "arret.", "unsubscribe", "stop   all", "BAJA"]
)
def test_stop_words_match_whole_messages(text: str) -> None:
    assert is_stop(text, WORDS)


@pytest.mark.parametrize("text", ["please stop sending", "stopped", "", "ok", "non-stop"])
def test_other_messages_are_not_stop(text: str) -> None:
    assert not is_stop(text, WORDS)


def test_fold() -> None:
    assert fold("  Désabonner ?? ") == "DESABONNER"


# -- tiers -----------------------------------------------------------------------------------

tiers = st.sampled_from(TIERS)
qualities = st.sampled_from(list(Quality))


def test_the_tiers_in_order() -> None:
    assert [t.limit for t in TIERS] == [250, 2_000, 10_000, 100_000, None]
    assert Tier.TIER_2K.wire == "TIER_2K"


@given(tiers, st.integers(0, 10**6), st.integers(0, 10**6), qualities, st.integers(0, 5))
def test_tiers_are_monotone_in_volume(tier: Tier, a: int, b: int, quality: Quality, streak: int) -> None:
    low, high = sorted((a, b))
    assert next_tier(tier, reached_7d=low, quality=quality, red_streak=streak) <= next_tier(
        tier, reached_7d=high, quality=quality, red_streak=streak
    )


@given(tiers, st.integers(0, 10**6), qualities, st.integers(0, 5))
def test_a_tier_moves_at_most_one_step(tier: Tier, reached: int, quality: Quality, streak: int) -> None:
    after = next_tier(tier, reached_7d=reached, quality=quality, red_streak=streak)
    assert abs(TIERS.index(after) - TIERS.index(tier)) <= 1
    if quality is Quality.RED:
        assert after <= tier
    else:
        assert after >= tier


def test_half_the_limit_raises_and_red_twice_lowers() -> None:
    assert next_tier(Tier.TIER_250, reached_7d=125, quality=Quality.GREEN, red_streak=0) is Tier.TIER_2K
    assert next_tier(Tier.TIER_250, reached_7d=124, quality=Quality.GREEN, red_streak=0) is Tier.TIER_250
    assert next_tier(Tier.TIER_2K, reached_7d=10**6, quality=Quality.RED, red_streak=1) is Tier.TIER_2K
    assert next_tier(Tier.TIER_2K, reached_7d=10**6, quality=Quality.RED, red_streak=2) is Tier.TIER_250
    assert next_tier(Tier.TIER_250, reached_7d=0, quality=Quality.RED, red_streak=9) is Tier.TIER_250
    assert (
        next_tier(Tier.TIER_UNLIMITED, reached_7d=10**9, quality=Quality.GREEN, red_streak=0)
        is Tier.TIER_UNLIMITED
    )


@given(tiers, st.integers(0, 10**6), st.integers(0, 10**6))
def test_within_limit_is_monotone(tier: Tier, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert within_limit(tier, high) <= within_limit(tier, low)


# -- quality ---------------------------------------------------------------------------------


def test_quality_thresholds() -> None:
    assert rate(Signals(reached=MIN_SAMPLE - 1, blocks=50)) is Quality.UNKNOWN
    assert rate(Signals(reached=1000, blocks=9)) is Quality.GREEN
    assert rate(Signals(reached=1000, blocks=10)) is Quality.YELLOW
    assert rate(Signals(reached=1000, reports=20, stops=20)) is Quality.RED


@given(st.integers(MIN_SAMPLE, 10**5), st.integers(0, 1000), st.integers(0, 1000))
def test_more_complaints_never_improve_quality(reached: int, blocks: int, more: int) -> None:
    order = [Quality.GREEN, Quality.YELLOW, Quality.RED]
    assert order.index(rate(Signals(reached=reached, blocks=blocks))) <= order.index(
        rate(Signals(reached=reached, blocks=blocks + more))
    )


def test_red_pauses_a_template_twice_then_disables_it() -> None:
    assert [after_red(n).status for n in range(3)] == [
        TemplateStatus.PAUSED,
        TemplateStatus.PAUSED,
        TemplateStatus.DISABLED,
    ]
    assert after_red(0).paused_for_ms == 3 * 3600 * 1000 and after_red(1).paused_for_ms == 6 * 3600 * 1000


# -- errors ----------------------------------------------------------------------------------


def test_every_failure_has_a_code() -> None:
    assert set(ERRORS) == set(Failure)
    codes = {f: ERRORS[f].code for f in Failure}
    assert codes[Failure.BAD_TOKEN] == 190 and codes[Failure.OUTSIDE_WINDOW] == 131047
    assert codes[Failure.MARKETING_STOPPED] == 131050 and codes[Failure.MESSAGING_LIMIT] == 131064
    assert codes[Failure.TEMPLATE_UNKNOWN] == 132001 and codes[Failure.THROUGHPUT] == 130429


def test_an_invalid_parameter_names_its_field() -> None:
    error = CloudApiError(
        Failure.INVALID_PARAMETER, "must be unique", field="interactive.action.buttons[1].reply.id"
    )
    assert error.message == "(#100) Param interactive.action.buttons[1].reply.id must be unique"
    assert CloudApiError(Failure.OUTSIDE_WINDOW).message == "(#131047) Re-engagement message"


# -- judging a send --------------------------------------------------------------------------

FREE = SendFacts(
    kind="text",
    blocked=False,
    window_open=True,
    template_status=None,
    category=None,
    granted=frozenset(),
    marketing_stopped=False,
    tier=Tier.TIER_250,
    reached_24h=0,
    already_reached=False,
)
MARKETING = replace(
    FREE,
    kind="template",
    window_open=False,
    template_status=TemplateStatus.APPROVED,
    category=Category.MARKETING,
    granted=frozenset({Scope.MARKETING}),
)


def test_in_the_window_anything_goes() -> None:
    assert judge(FREE).failure is None and not judge(FREE).counts_against_limit


def test_outside_the_window_only_templates() -> None:
    assert judge(replace(FREE, window_open=False)).failure is Failure.OUTSIDE_WINDOW


def test_blocked_beats_everything() -> None:
    assert judge(replace(MARKETING, blocked=True)).failure is Failure.UNDELIVERABLE


def test_a_template_outside_the_window_needs_its_scope() -> None:
    verdict = judge(MARKETING)
    assert verdict.failure is None and verdict.counts_against_limit
    assert judge(replace(MARKETING, granted=frozenset())).failure is Failure.NO_CONSENT
    stopped = replace(MARKETING, granted=frozenset({Scope.UTILITY}), marketing_stopped=True)
    assert judge(stopped).failure is Failure.MARKETING_STOPPED
    utility = replace(stopped, category=Category.UTILITY)
    assert judge(utility).failure is None
    assert judge(replace(stopped, window_open=True, kind="text")).failure is None
    # A stop holds inside the window too, for marketing templates only.
    assert judge(replace(stopped, window_open=True)).failure is Failure.MARKETING_STOPPED
    assert judge(replace(utility, window_open=True)).failure is None


def test_templates_must_be_approved() -> None:
    assert judge(replace(MARKETING, template_status=None)).failure is Failure.TEMPLATE_UNKNOWN
    assert (
        judge(replace(MARKETING, template_status=TemplateStatus.PENDING)).failure is Failure.TEMPLATE_UNKNOWN
    )
    assert judge(replace(MARKETING, template_status=TemplateStatus.PAUSED)).failure is Failure.TEMPLATE_PAUSED
    assert (
        judge(replace(MARKETING, template_status=TemplateStatus.DISABLED)).failure
        is Failure.TEMPLATE_DISABLED
    )


def test_the_messaging_limit_counts_new_people_only() -> None:
    full = replace(MARKETING, reached_24h=250)
    assert judge(full).failure is Failure.MESSAGING_LIMIT
    assert judge(replace(full, already_reached=True)).failure is None
    assert judge(replace(full, tier=Tier.TIER_2K)).counts_against_limit
