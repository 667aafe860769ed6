"""The rollups the digest reads, on SQLite and PostgreSQL: what they give is what the answers give.

Hypothesis writes rounds of answers (taps changed before the close included), closes them as the
pulse job does, forgets people, expires rounds and changes the threshold in any order; then every
window the digest and the trend read from the rollups must equal the one scored answer by answer
from the answers table (`bot.domain.scoring.score`), and the rollups must equal a rebuild.
"""

from __future__ import annotations

import base64
import itertools
import pickle
import subprocess
import sys
from collections import defaultdict
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from bot.cli import main
from bot.domain.scoring import WINDOW_WEEKS, Response, score
from bot.domain.tallies import WEEK
from bot.domain.vocabulary import MARKETING, SALES
from bot.runtime.counting import CountingApart
from storage import lifecycle, migrate, rollups
from storage import pulses as pulse_store
from storage.models import (
    Answer,
    Cadence,
    Delivery,
    PostStatus,
    PulseRound,
    RollupPerson,
    ThresholdChange,
    Workspace,
)
from tests.conversation import FIRST_ROUND, create_pulse
from tests.processes import wait_until

PEOPLE = [f"U{n:03d}" for n in range(9)]
DEPARTMENTS = [SALES, SALES, SALES, SALES, MARKETING, MARKETING, MARKETING, MARKETING, None]
teams = itertools.count()

a_round = st.fixed_dictionaries(
    {
        "items": st.integers(0, 1),  # which pair of statements (they overlap, scored or not)
        "scores": st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=18, max_size=18),
        "changed": st.lists(st.tuples(st.integers(0, 17), st.integers(1, 5)), max_size=4),
        "then": st.sampled_from(["nothing", "forget", "expire", "threshold", "close twice"]),
        "who": st.integers(0, 8),
        "threshold": st.integers(1, 5),
    }
)


def rows_of(session, team_id: str) -> set[tuple]:
    return set(
        session.execute(
            select(
                RollupPerson.round_id, RollupPerson.user_id, RollupPerson.department, RollupPerson.scores
            ).where(RollupPerson.team_id == team_id)
        )
    )


def from_answers(bot, team_id: str, at, weeks: int) -> list:
    """The windows as the answers give them, one rating at a time: a round's ratings of a statement
    by one department count only when at least the threshold's number of people gave them."""
    insights = bot.services.insights
    threshold = insights.threshold_at(team_id, at)
    meta = insights.item_meta(team_id)
    windows = []
    with bot.database.session() as session:
        for back in range(weeks - 1, -1, -1):
            end = at - back * WEEK
            rounds = [r for r, _ in pulse_store_rounds(session, team_id, end - WINDOW_WEEKS * WEEK, end, at)]
            answers = session.execute(
                select(
                    Answer.round_id, Answer.user_id, Answer.department, Answer.item_id, Answer.score
                ).where(Answer.round_id.in_(rounds), Answer.score.between(1, 5))
            ).all()
            people = defaultdict(set)
            for round_id, user_id, department, item_id, _ in answers:
                people[round_id, department, item_id].add(user_id)
            windows.append(
                score(
                    [
                        Response(user_id, item_id, department, rating)
                        for round_id, user_id, department, item_id, rating in answers
                        if len(people[round_id, department, item_id]) >= threshold
                    ],
                    meta,
                    threshold,
                )
            )
    return windows


def pulse_store_rounds(session, team_id, start, end, at):
    """The rounds scheduled in [start, end) and closed by `at`, as every reading at `at` takes them."""
    return session.execute(
        select(PulseRound.id, PulseRound.scheduled_at).where(
            PulseRound.team_id == team_id,
            PulseRound.scheduled_at >= start,
            PulseRound.scheduled_at < end,
            PulseRound.status == pulse_store.CLOSED,
            PulseRound.closed_at <= at,
        )
    ).all()


def test_readings_from_rollups_equal_scoring_the_answers(bot, driver, clock):
    create_pulse(bot, driver)
    with bot.database.session() as session:
        cadence_id = session.scalar(select(Cadence.id))
        template = session.get(Workspace, "T0ACME001")
        workspace = {c.name: getattr(template, c.name) for c in Workspace.__table__.columns}
    meta = bot.services.insights.item_meta("T0ACME001")
    scored = [item for item, m in meta.items() if m.scored]
    unscored = [item for item, m in meta.items() if not m.scored]
    pairs = [(scored[0], scored[1]), (scored[1], unscored[0] if unscored else scored[2])]

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(a_round, min_size=1, max_size=6))
    def check(rounds):
        team_id = f"T0PROP{next(teams):04d}"
        with bot.database.session() as session:
            session.add(Workspace(**{**workspace, "team_id": team_id}))
        for number, drawn in enumerate(rounds):
            at = FIRST_ROUND + number * WEEK
            play_round(bot, team_id, cadence_id, at, pairs[drawn["items"]], drawn)
        at = FIRST_ROUND + len(rounds) * WEEK
        insights = bot.services.insights
        weeks = insights.weekly_results(team_id, at, 3)
        assert [results for _, results in weeks] == from_answers(bot, team_id, at, 3)
        with bot.database.session() as session:
            kept = rows_of(session, team_id)
            rollups.rebuild(session, team_id)
        with bot.database.session() as session:
            assert rows_of(session, team_id) == kept

    check()


def play_round(bot, team_id: str, cadence_id: int, at, items: tuple[str, str], drawn: dict) -> None:
    """A round sent to everyone, answered (a person tapping again changes their rating), closed,
    and then what Hypothesis drew."""
    with bot.database.session() as session:
        round_id = session.execute(
            insert(PulseRound)
            .values(
                team_id=team_id,
                cadence_id=cadence_id,
                occurrence_key=f"{team_id}:{at.isoformat()}",
                scheduled_at=at,
                closes_at=at + timedelta(days=2),
                status=pulse_store.OPEN,
                item_ids=list(items),
                delivery="dm",
                created_at=at,
            )
            .returning(PulseRound.id)
        ).scalar_one()
        deliveries = []
        for user_id, department in zip(PEOPLE, DEPARTMENTS, strict=True):
            delivery = Delivery(
                team_id=team_id,
                round_id=round_id,
                user_id=user_id,
                department=department,
                needs_department=department is None,
                language="en",
                status=PostStatus.SENT,
                attempts=1,
                closed_notice=False,
            )
            session.add(delivery)
            deliveries.append(delivery)
        session.flush()
        taps = [(slot, rating) for slot, rating in enumerate(drawn["scores"]) if rating is not None]
        for slot, rating in [*taps, *drawn["changed"]]:
            pulse_store.save_answers(session, [(deliveries[slot // 2], items[slot % 2], rating)], at)
    closed_at = at + timedelta(days=2)
    with bot.database.session() as session:
        assert rollups.close_round(session, round_id, closed_at)
    then = drawn["then"]
    with bot.database.session() as session:
        if then == "forget":
            lifecycle.forget_person(session, team_id, PEOPLE[drawn["who"]], closed_at)
        elif then == "expire":
            oldest = session.scalar(
                select(PulseRound.id)
                .where(PulseRound.team_id == team_id, PulseRound.expired_at.is_(None))
                .order_by(PulseRound.scheduled_at)
            )
            lifecycle.expire_round(session, oldest, closed_at)
        elif then == "threshold":
            workspace = session.get(Workspace, team_id)
            session.add(
                ThresholdChange(
                    team_id=team_id,
                    old_threshold=workspace.anonymity_threshold,
                    new_threshold=drawn["threshold"],
                    changed_by="U0ADMIN",
                    changed_at=closed_at + timedelta(hours=1),
                )
            )
            workspace.anonymity_threshold = drawn["threshold"]
        elif then == "close twice":
            before = rows_of(session, team_id)
            assert not rollups.close_round(session, round_id, closed_at + timedelta(hours=1))
            assert rows_of(session, team_id) == before


def two_statements(bot) -> tuple[str, str]:
    first, second, *_ = (item for item, m in bot.services.insights.item_meta("T0ACME001").items() if m.scored)
    return first, second


def test_a_round_rolled_up_twice_counts_once(bot, driver, clock):
    """A retried close (or a second replica) finds the round closed and adds nothing; rolling a
    round up again replaces its rows."""
    create_pulse(bot, driver)
    with bot.database.session() as session:
        cadence_id = session.scalar(select(Cadence.id))
    drawn = {"scores": [4] * 18, "changed": [], "then": "nothing"}
    play_round(bot, "T0ACME001", cadence_id, FIRST_ROUND, two_statements(bot), drawn)
    with bot.database.session() as session:
        round_id = session.scalar(select(PulseRound.id))
        before = rows_of(session, "T0ACME001")
        assert len(before) == len(PEOPLE)
        assert not rollups.close_round(session, round_id, FIRST_ROUND + WEEK)
        assert rollups.roll_up(session, round_id) == len(PEOPLE)
    with bot.database.session() as session:
        assert rows_of(session, "T0ACME001") == before


def test_rebuild_from_the_command_line(bot, driver, clock, settings, monkeypatch, capsys):
    """`alignbot rollups rebuild` writes lost rollups again from the answers."""
    create_pulse(bot, driver)
    with bot.database.session() as session:
        cadence_id = session.scalar(select(Cadence.id))
    drawn = {"scores": [3] * 18, "changed": [(0, 5)], "then": "nothing"}
    play_round(bot, "T0ACME001", cadence_id, FIRST_ROUND, two_statements(bot), drawn)
    with bot.database.session() as session:
        before = rows_of(session, "T0ACME001")
        session.execute(RollupPerson.__table__.delete())
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["rollups", "rebuild", "--workspace", "T0ACME001"]) == 0
    assert "rolled up 1 closed rounds of workspace T0ACME001 (9 people's rows)" in capsys.readouterr().out
    with bot.database.session() as session:
        after = rows_of(session, "T0ACME001")
    assert after == before
    assert {user_id: scores for _, user_id, _, scores in after}["U000"] == "53"  # the tap changed 3 to 5


def test_the_migration_rolls_up_the_rounds_closed_before_it(bot, driver, clock):
    """Migration 0014 adds the rollups and writes them for every round already closed."""
    create_pulse(bot, driver)
    with bot.database.session() as session:
        cadence_id = session.scalar(select(Cadence.id))
    drawn = {"scores": [2, 4] * 9, "changed": [], "then": "nothing"}
    play_round(bot, "T0ACME001", cadence_id, FIRST_ROUND, two_statements(bot), drawn)
    with bot.database.session() as session:
        before = rows_of(session, "T0ACME001")
    assert len(before) == len(PEOPLE)
    migrate.downgrade(bot.database.engine, "0013")
    migrate.upgrade(bot.database.engine)
    with bot.database.session() as session:
        assert rows_of(session, "T0ACME001") == before


#: In a process of its own (the test's has numpy loaded): the weeks counted apart, as `serve` counts
#: them, pickled to standard output, and whether the asking process ever loaded numpy.
COUNT_APART = """
import base64, pickle, sys
from datetime import datetime
from bot.runtime.counting import CountingApart
if __name__ == "__main__":
    counting = CountingApart(sys.argv[1])
    counted = counting("T0ACME001", datetime.fromisoformat(sys.argv[2]), 5, 8)
    counting.close()
    print(base64.b64encode(pickle.dumps((counted, "numpy" in sys.modules))).decode())
"""


def test_the_weeks_counted_in_a_process_of_their_own_are_the_weeks_counted_here(bot, driver, database_url):
    """`serve` counts in a spawned process (`bot.runtime.counting`): the same figures, and no numpy
    in the process that asked."""
    create_pulse(bot, driver)
    with bot.database.session() as session:
        cadence_id = session.scalar(select(Cadence.id))
        workspace = session.get(Workspace, "T0ACME001")
        changed_at = FIRST_ROUND - timedelta(hours=1)
        session.add(
            ThresholdChange(
                team_id="T0ACME001",
                old_threshold=5,
                new_threshold=3,
                changed_by="U0ADMIN",
                changed_at=changed_at,
            )
        )
        workspace.anonymity_threshold = 3  # four people a team: shown
    for week, scores in enumerate(([4, 2] * 9, [5, 3] * 9, [1, 5] * 9)):
        drawn = {"scores": scores, "changed": [], "then": "nothing"}
        play_round(bot, "T0ACME001", cadence_id, FIRST_ROUND + week * WEEK, two_statements(bot), drawn)
    at = FIRST_ROUND + 4 * WEEK
    here = bot.services.insights.weekly_results("T0ACME001", at, 5)
    answer = subprocess.run(
        [sys.executable, "-c", COUNT_APART, database_url, at.isoformat()],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    apart, numpy_loaded = pickle.loads(base64.b64decode(answer))
    first = two_statements(bot)[0]
    assert apart == here and here[-1][1].items[SALES, first].respondents == 4
    assert not numpy_loaded


def test_the_counting_process_ends_once_idle_and_starts_again_for_the_next_count(bot, driver, database_url):
    create_pulse(bot, driver)
    at = FIRST_ROUND + WEEK
    counting = CountingApart(database_url, idle_seconds=0.2)
    try:
        assert counting("T0ACME001", at, 1, 8) == bot.services.insights.weekly_results("T0ACME001", at, 1)
        assert counting.running
        wait_until(lambda: not counting.running, 10, "the counting process outlived its idle time")
        assert counting("T0ACME001", at, 1, 8) == bot.services.insights.weekly_results("T0ACME001", at, 1)
    finally:
        counting.close()
    assert not counting.running
