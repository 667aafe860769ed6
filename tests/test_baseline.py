"""A baseline: every scored statement once, chosen in `/align pulse add`; a stage in week one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.domain.vocabulary import EVERYONE, MARKETING, SALES
from bot.services.insights import InsightService
from storage.models import PulseRound
from tests.conversation import (
    FIRST_ROUND,
    LEADERSHIP_CHANNEL,
    MARKETING_TEAM,
    MONDAY_9_BERLIN,
    OWNER,
    SALES_TEAM,
    answer_round,
    close_round,
    command,
    create_pulse,
    pulse_dms,
    run_at,
    text_of,
)

SCORED = 20


def test_a_baseline_round_gives_a_stage_in_week_one(bot, driver, sandbox, clock):
    create_pulse(bot, driver, name="Baseline", kind="baseline", start_date="2026-03-03")
    listing = text_of(command(bot, driver, OWNER, "pulse list"))
    assert "Baseline: all 20 of the 20 scored statements, once." in listing

    run_at(bot, clock, FIRST_ROUND)
    (message,) = pulse_dms(sandbox, SALES_TEAM[0])
    asked = [b for b in message.blocks if b.get("block_id", "").startswith("item:")]
    assert len(asked) == SCORED
    answer_round(bot, driver, sandbox, SALES_TEAM, score=3, statements=SCORED)
    answer_round(bot, driver, sandbox, MARKETING_TEAM, score=4, statements=SCORED)
    close_round(bot, clock)

    clock.set(MONDAY_9_BERLIN)
    bot.digests.run_due()
    (post,) = [m for m in sandbox.messages_in(LEADERSHIP_CHANNEL) if m.thread_ts is None]
    digest = text_of(post.blocks)
    assert "*Stage: Aligned*" in digest  # (60 + 80) / 2: both teams weigh the same
    assert "Rests on 20 of 20 statements, 10 people, 8 weeks" in digest

    insights = InsightService(bot.database, bot.services.pulses)
    (point,) = insights.trend("T0ACME001", MONDAY_9_BERLIN, weeks=1)
    assert point.baseline and point.everyone == 70.0
    assert (point.sales, point.marketing) == (60.0, 80.0)
    (before, after) = insights.trend("T0ACME001", MONDAY_9_BERLIN + timedelta(weeks=1), weeks=2)
    assert before.baseline and not after.baseline
    results = insights.results("T0ACME001", MONDAY_9_BERLIN)
    assert results.composites[EVERYONE].items == SCORED
    assert results.composites[SALES].items == results.composites[MARKETING].items == SCORED

    # once: a week later nothing more is sent
    run_at(bot, clock, FIRST_ROUND + timedelta(weeks=1))
    with bot.database.session() as session:
        assert len(session.scalars(select(PulseRound.id)).all()) == 1


def test_a_weekly_pulse_asks_every_scored_statement_within_the_window(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    assert "Asks all 20 scored statements in every 8-week window." in text_of(
        command(bot, driver, OWNER, "pulse list")
    )
    for week in range(8):
        run_at(bot, clock, FIRST_ROUND + timedelta(weeks=week))
        run_at(bot, clock, FIRST_ROUND + timedelta(weeks=week, hours=49))
    with bot.database.session() as session:
        asked = {item for items in session.scalars(select(PulseRound.item_ids)) for item in items}
    assert {f"hbr{n:02d}" for n in range(1, 21)} <= asked


def test_too_few_statements_per_pulse_are_told_what_they_cost(bot, driver, sandbox, clock):
    create_pulse(bot, driver, items_per_round="1")
    listing = text_of(command(bot, driver, OWNER, "pulse list"))
    assert "Asks only 9 of the 20 scored statements in some 8-week windows" in listing
