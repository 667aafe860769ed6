"""Reading closed rounds back for scoring: by time window, from their rollups (`storage.rollups`).

Figures read closed rounds only (see `bot.domain.snapshot`): a round counts in a reading at `end`
once it closed at or before `end`, and its answers cannot change after that. A round's ratings
of a statement by one department count only when at least `threshold` people gave them, so a
close adds whole groups of at least that many people to any figure, even to a week that already
held another round; the threshold is applied as the figures are counted (`bot.domain.tallies`),
with the one in force at the reading's instant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from bot.domain.tallies import People, RoundRatings
from storage.models import (
    UNKNOWN_DEPARTMENT,
    Answer,
    Cadence,
    Comment,
    Delivery,
    PostStatus,
    PulseRound,
    RollupPerson,
)
from storage.pulses import CLOSED, OPEN

#: Between the user ids, and between the departments, of a round's rollup rows read in one string
#: (neither holds one).
SEPARATOR = ","


def closed_by(end: datetime):
    """The rounds whose answer window had ended, and that the pulse job had closed, by `end`."""
    return (PulseRound.status == CLOSED, PulseRound.closed_at <= end)


def rounds_between(
    session: Session, team_id: str, start: datetime, end: datetime
) -> list[tuple[int, datetime]]:
    """(round id, scheduled at) of the rounds scheduled in [start, end) and closed by `end`, oldest
    first."""
    rows = session.execute(
        select(PulseRound.id, PulseRound.scheduled_at)
        .where(
            PulseRound.team_id == team_id,
            PulseRound.scheduled_at >= start,
            PulseRound.scheduled_at < end,
            *closed_by(end),
        )
        .order_by(PulseRound.scheduled_at, PulseRound.id)
    )
    return [(round_id, scheduled_at) for round_id, scheduled_at in rows]


def not_asked(session: Session, team_id: str, round_ids: Sequence[int]) -> tuple[int, bool]:
    """How many copies of these rounds were held back (their person away, or on a holiday of theirs),
    and whether any of the rounds went at each person's own time."""
    if not round_ids:
        return 0, False
    away = session.scalar(
        select(func.count()).where(
            Delivery.team_id == team_id,
            Delivery.round_id.in_(round_ids),
            Delivery.status.in_((PostStatus.AWAY, PostStatus.HOLIDAY)),
        )
    )
    own_time = session.scalar(
        select(func.count())
        .select_from(PulseRound)
        .join(Cadence, Cadence.id == PulseRound.cadence_id)
        .where(PulseRound.id.in_(round_ids), Cadence.each_persons_time.is_(True))
    )
    return away or 0, bool(own_time)


def latest_close(session: Session, team_id: str, now: datetime) -> datetime | None:
    """When the workspace's latest round to close, by `now`, closed."""
    return session.scalar(
        select(func.max(PulseRound.closed_at)).where(PulseRound.team_id == team_id, *closed_by(now))
    )


def open_round_respondents(session: Session, team_id: str) -> int:
    """How many people have answered a round still open so far (never what they answered)."""
    open_rounds = select(PulseRound.id).where(PulseRound.team_id == team_id, PulseRound.status == OPEN)
    return (
        session.scalar(
            select(func.count(distinct(Answer.user_id))).where(
                Answer.round_id.in_(session.scalars(open_rounds).all())  # the key's first column
            )
        )
        or 0
    )


def rolled_up(session: Session, week_of_round: Mapping[int, int], people: People) -> Iterator[RoundRatings]:
    """The given closed rounds' ratings, each mapped to its week, read from their rollups
    (`storage.rollups`), never from the answers. Each person is numbered in `people` (a new one
    gets the next number), so other readings can number them alike."""
    import numpy  # with the first reading: an idle server does without its 16 MB

    if not week_of_round:
        return
    rounds = select(PulseRound.id, PulseRound.item_ids).where(PulseRound.id.in_(week_of_round))
    items = {round_id: item_ids for round_id, item_ids in session.execute(rounds)}
    # A row per round, its people's columns each in one string: the database hands over a few
    # long strings rather than a row per person, and the rows of one group feed every aggregate
    # in the same order.
    query = (
        select(
            RollupPerson.round_id,
            func.aggregate_strings(RollupPerson.user_id, SEPARATOR),
            func.aggregate_strings(RollupPerson.department, SEPARATOR),
            func.aggregate_strings(RollupPerson.scores, ""),
        )
        .where(RollupPerson.round_id.in_(week_of_round))
        .group_by(RollupPerson.round_id)
    )
    for round_id, users, departments, scores in session.execute(query):
        users, departments = users.split(SEPARATOR), departments.split(SEPARATOR)
        names = sorted(set(departments))
        code = {name: index for index, name in enumerate(names)}
        statements = tuple(items[round_id])
        yield RoundRatings(
            week=week_of_round[round_id],
            items=statements,
            people=numpy.fromiter(
                (people.setdefault(u, len(people)) for u in users), numpy.int64, len(users)
            ),
            departments=tuple(None if name == UNKNOWN_DEPARTMENT else name for name in names),
            department_of=numpy.fromiter(map(code.__getitem__, departments), numpy.int64, len(departments)),
            scores=(numpy.frombuffer(scores.encode("ascii"), dtype=numpy.uint8) - ord("0"))
            .astype(numpy.int64)
            .reshape(len(users), len(statements)),
        )


def weekly_participation(
    session: Session, team_id: str, week_of_round: Mapping[int, int]
) -> dict[tuple[int, str | None], tuple[int, int]]:
    """(week, department) → (people asked, people who answered at least one statement), over the
    given rounds; a person asked in several rounds of a week counts once per round."""
    if not week_of_round:
        return {}
    week = case(week_of_round, value=Delivery.round_id)
    # The status is counted, not filtered on, so that the rounds' own deliveries are read (by the
    # (round, person) key) rather than every delivery ever sent (by the status index).
    sent = func.sum(case((Delivery.status.in_((PostStatus.SENT, PostStatus.IN_CHANNEL)), 1), else_=0))
    asked = [
        (w, department, count)
        for w, department, count in session.execute(
            select(week, Delivery.department, sent)
            .where(Delivery.team_id == team_id, Delivery.round_id.in_(week_of_round))
            .group_by(week, Delivery.department)
        )
        if count
    ]
    answered_week = case(week_of_round, value=RollupPerson.round_id)
    answered = {
        (w, None if department == UNKNOWN_DEPARTMENT else department): count
        for w, department, count in session.execute(  # a rollup row per person who answered a round
            select(answered_week, RollupPerson.department, func.count())
            .where(RollupPerson.round_id.in_(week_of_round))
            .group_by(answered_week, RollupPerson.department)
        )
    }
    return {(w, department): (count, answered.get((w, department), 0)) for w, department, count in asked}


def comments_between(
    session: Session, team_id: str, start: datetime, end: datetime
) -> list[tuple[str | None, str]]:
    """(department, text) of the comments on rounds scheduled in [start, end) and closed by `end`,
    newest first.

    No author and no date leave this function: the digest must not show them.
    """
    rows = session.execute(
        select(Comment.department, Comment.text)
        .join(PulseRound, PulseRound.id == Comment.round_id)
        .where(
            Comment.team_id == team_id,
            PulseRound.scheduled_at >= start,
            PulseRound.scheduled_at < end,
            *closed_by(end),
        )
        .order_by(Comment.written_at.desc(), Comment.round_id.desc(), Comment.user_id)
    )
    return [(department, text) for department, text in rows]


def personal_participation(
    session: Session, team_id: str, user_id: str, start: datetime, end: datetime
) -> tuple[int, int]:
    """(pulses sent to this person, pulses they answered) over rounds scheduled in [start, end)."""
    asked = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .join(PulseRound, PulseRound.id == Delivery.round_id)
        .where(
            Delivery.team_id == team_id,
            Delivery.user_id == user_id,
            Delivery.status.in_((PostStatus.SENT, PostStatus.IN_CHANNEL)),
            PulseRound.scheduled_at >= start,
            PulseRound.scheduled_at < end,
        )
    )
    answered = session.scalar(
        select(func.count(func.distinct(Answer.round_id)))
        .join(PulseRound, PulseRound.id == Answer.round_id)
        .where(
            Answer.team_id == team_id,
            Answer.user_id == user_id,
            PulseRound.scheduled_at >= start,
            PulseRound.scheduled_at < end,
        )
    )
    return asked or 0, answered or 0
