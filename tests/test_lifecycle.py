"""The end of personal data: `/align forget-me`, and retention replacing old answers by counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from threading import Thread

import pytest
from sqlalchemy import func, select

from bot.domain.vocabulary import EVERYONE
from bot.jobs.retention import RetentionRunner, add_months
from bot.sandbox.workspace import SALESPEOPLE
from storage.models import (
    UNKNOWN_DEPARTMENT,
    Answer,
    Comment,
    Delivery,
    PersonPreference,
    PulseRound,
    RoundAggregate,
)
from tests.conversation import (
    FIRST_ROUND,
    MARKETING_TEAM,
    SALES_TEAM,
    answer_round,
    command,
    create_pulse,
    forget_me_prompt,
    replies_to,
    run_at,
    set_up_workspace,
    text_of,
)

TEAM = "T0ACME001"
FORGOTTEN = SALESPEOPLE[2]


def rows_of(bot, user_id: str) -> dict[str, int]:
    with bot.database.session() as session:
        return {
            table.__tablename__: session.scalar(
                select(func.count()).select_from(table).where(table.user_id == user_id)
            )
            for table in (Answer, Comment, Delivery, PersonPreference)
        }


def a_round_with_answers(bot, driver, sandbox, clock) -> None:
    create_pulse(bot, driver)
    set_up_workspace(bot, driver, anonymity_threshold="3")  # so teams of five still show with one less
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, driver, sandbox, SALES_TEAM, score=2)
    answer_round(bot, driver, sandbox, MARKETING_TEAM, score=4)
    command(bot, driver, FORGOTTEN, "language fa")
    with bot.database.session() as session:
        round_id = session.scalar(select(PulseRound.id))
        session.add(
            Comment(
                round_id=round_id,
                user_id=FORGOTTEN,
                team_id=TEAM,
                department="sales",
                text="too many meetings",
                written_at=FIRST_ROUND,
            )
        )


def test_forget_me_deletes_only_the_clicker_and_no_figure_moves(bot, driver, sandbox, clock):
    a_round_with_answers(bot, driver, sandbox, clock)
    end = FIRST_ROUND + timedelta(days=3)
    run_at(bot, clock, end)  # the round closes: figures count it from now on
    results = bot.services.insights.results(TEAM, end)
    before = results.composites[EVERYONE].respondents
    assert before == len(SALES_TEAM) + len(MARKETING_TEAM)
    others = rows_of(bot, SALESPEOPLE[0])

    response, prompt = forget_me_prompt(bot, driver, FORGOTTEN)
    assert text_of(prompt) == text_of(bot.services.presenter.forget_me_confirm("fa"))  # theirs
    confirm = driver.click(
        FORGOTTEN, "forget_me_confirm", "forget", "forget_me", channel_id="C0SALES01", message=prompt
    )
    assert confirm.status == 200
    assert bot.wait_idle()

    assert rows_of(bot, FORGOTTEN) == {
        "pulse_answers": 0,
        "pulse_comments": 0,
        "pulse_deliveries": 0,
        "person_preferences": 0,
    }
    assert rows_of(bot, SALESPEOPLE[0]) == others
    # Their answers still count, under a name nothing maps back to them: no figure anyone saw moves.
    assert bot.services.insights.results(TEAM, end).composites[EVERYONE].respondents == before
    assert bot.services.insights.results(TEAM, end) == results
    (done,) = replies_to(sandbox, confirm)
    assert done["replace_original"] is True
    # Written in the language they had chosen, before that choice was deleted too.
    assert "۴" in text_of(done)


def test_keeping_the_data_deletes_nothing(bot, driver, sandbox, clock):
    a_round_with_answers(bot, driver, sandbox, clock)
    before = rows_of(bot, SALESPEOPLE[0])
    forget_me_prompt(bot, driver, SALESPEOPLE[0])
    keep = driver.click(SALESPEOPLE[0], "forget_me_cancel", "keep", "forget_me", channel_id="C0SALES01")
    assert bot.wait_idle()
    assert rows_of(bot, SALESPEOPLE[0]) == before
    assert "Nothing was deleted" in text_of(replies_to(sandbox, keep)[0])


def test_retention_keeps_counts_and_deletes_the_answers_of_old_rounds_once(bot, driver, sandbox, clock):
    a_round_with_answers(bot, driver, sandbox, clock)
    with bot.database.session() as session:
        expected = {
            (department or UNKNOWN_DEPARTMENT, item_id, score): count
            for department, item_id, score, count in session.execute(
                select(Answer.department, Answer.item_id, Answer.score, func.count()).group_by(
                    Answer.department, Answer.item_id, Answer.score
                )
            )
        }
    run_at(bot, clock, FIRST_ROUND + timedelta(days=3))  # the round closes
    runners = [RetentionRunner(bot.database, clock, months=6) for _ in range(2)]
    assert runners[0].next_wakeup() == add_months(FIRST_ROUND, 6)

    clock.set(add_months(FIRST_ROUND, 6) - timedelta(minutes=1))
    assert runners[0].run_due().expired_rounds == 0
    clock.set(add_months(FIRST_ROUND, 6) + timedelta(minutes=1))
    threads = [Thread(target=runner.run_due) for runner in runners]  # two replicas at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with bot.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Answer)) == 0
        assert session.scalar(select(func.count()).select_from(Comment)) == 0
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
        kept = {
            (row.department, row.item_id, score): count
            for row in session.scalars(select(RoundAggregate))
            for score, count in enumerate(row.ratings, start=1)
            if count
        }
        assert session.scalar(select(PulseRound.expired_at)) is not None
    assert kept == expected
    assert runners[1].run_due().expired_rounds == 0
    assert runners[1].next_wakeup() is None


def test_retention_off_keeps_everything(bot, driver, sandbox, clock):
    a_round_with_answers(bot, driver, sandbox, clock)
    clock.set(FIRST_ROUND + timedelta(days=3650))
    runner = RetentionRunner(bot.database, clock, months=0)
    assert runner.next_wakeup() is None
    assert runner.run_due().expired_rounds == 0
    with bot.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Answer)) > 0


@pytest.mark.parametrize(
    "moment, months, expected",
    [
        (datetime(2026, 1, 31, 9, tzinfo=UTC), 1, datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2026, 3, 31, 9, tzinfo=UTC), -1, datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2026, 11, 23, 9, tzinfo=UTC), -11, datetime(2025, 12, 23, 9, tzinfo=UTC)),
        (datetime(2024, 2, 29, 9, tzinfo=UTC), 12, datetime(2025, 2, 28, 9, tzinfo=UTC)),
    ],
)
def test_calendar_months(moment, months, expected):
    assert add_months(moment, months) == expected
