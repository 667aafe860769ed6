"""Results from stored answers, on SQLite and PostgreSQL: what the digest will read."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.domain.vocabulary import EVERYONE, MARKETING, SALES
from bot.sandbox.workspace import (
    MARKETERS,
    OWNER,
    SALES_AND_MARKETING,
    SALESPEOPLE,
)
from bot.services.insights import InsightService
from storage.models import Comment, PulseRound
from tests.conversation import (
    FIRST_ROUND,
    MARKETING_TEAM,
    SALES_TEAM,
    a_closed_round_with_a_gap,
    answer_round,
    close_round,
    command,
    create_pulse,
    run_at,
    text_of,
)


def test_results_and_participation_from_a_round(bot, driver, sandbox, clock):
    a_closed_round_with_a_gap(bot, driver, sandbox, clock)
    insights = InsightService(bot.database, bot.services.pulses)
    results = insights.results("T0ACME001", FIRST_ROUND + timedelta(days=3))
    assert results.composites[SALES].score == 40.0
    assert results.composites[MARKETING].score == 80.0
    assert results.composites[EVERYONE].score == 60.0
    assert all(abs(gap - 2.0) < 1e-9 for gap in results.item_gaps.values())
    (participation,) = insights.weekly_participation("T0ACME001", FIRST_ROUND + timedelta(days=3), weeks=1)
    # Dana (both channels) never chose a team and did not answer: one person outside both
    # departments, so one department is withheld too, or everyone − sales − marketing = Dana.
    assert participation.shares == {SALES: 1.0, MARKETING: None, EVERYONE: 10 / 11}
    assert participation.asked == {SALES: 5, MARKETING: None, EVERYONE: 11}
    outside = insights.results("T0ACME001", FIRST_ROUND - timedelta(days=1))
    assert outside.composites[EVERYONE].withheld


def test_a_small_team_is_withheld_everywhere(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, driver, sandbox, SALES_TEAM, score=3)
    answer_round(bot, driver, sandbox, MARKETERS[:2], score=5)
    close_round(bot, clock)
    insights = InsightService(bot.database, bot.services.pulses)
    results = insights.results("T0ACME001", FIRST_ROUND + timedelta(days=3))
    assert results.composites[MARKETING].withheld
    # Two marketers' ratings of a week are too few to count at all, so nothing, not even
    # everyone − sales or next week's digest, reveals what they said; and the company's score,
    # the mean of both teams, is withheld with marketing's, rather than being sales' alone.
    assert results.composites[SALES].score == 60.0
    assert results.composites[EVERYONE].withheld
    assert results.composites[EVERYONE].withheld_team == MARKETING
    assert results.item_gaps == {}


def test_the_digest_preview_shows_the_stage_the_gap_and_only_safe_comments(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, driver, sandbox, SALES_TEAM, score=2)
    answer_round(bot, driver, sandbox, MARKETING_TEAM, score=4)
    with bot.database.session() as session:
        round_id = session.scalars(select(PulseRound.id)).one()
        session.add_all(
            [
                Comment(
                    round_id=round_id,
                    user_id=SALESPEOPLE[0],
                    team_id="T0ACME001",
                    department="sales",
                    text="Share the <!channel> lead list",
                    written_at=FIRST_ROUND,
                ),
                Comment(
                    round_id=round_id,
                    user_id=SALES_AND_MARKETING,
                    team_id="T0ACME001",
                    department=None,
                    text="Only I would say this",
                    written_at=FIRST_ROUND,
                ),
            ]
        )
    close_round(bot, clock)
    clock.set(FIRST_ROUND + timedelta(days=6))
    (digest,) = command(bot, driver, OWNER, "digest preview")
    text = text_of(digest)
    assert "*Stage: Aligned* · score 60 of 100" in text
    assert "sales 2.0, marketing 4.0 (+2.0)" in text
    assert "Participation: sales 100%" in text
    assert "Share the &lt;!channel&gt; lead list" in text
    assert "Only I would say this" not in text  # unknown department: never shown
    assert "Only Slack workspace admins" in text_of(command(bot, driver, SALESPEOPLE[0], "digest preview")[0])
