"""Reading answers back for scoring: by time window, with each answer's department.

Figures read closed rounds only (see `bot.domain.snapshot`): a round counts in a reading at `end`
once it closed at or before `end`, and its answers cannot change after that. A round's ratings
of a statement by one department count only when at least `threshold` people gave them, so a
close adds whole groups of at least that many people to any figure, even to a week that already
held another round.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from sqlalchemy import BigInteger, case, distinct, func, literal, select, tuple_
from sqlalchemy.orm import Session, aliased

from storage.models import (
    Answer,
    Cadence,
    Comment,
    Delivery,
    PostStatus,
    PulseRound,
)
from storage.pulses import CLOSED, OPEN

#: Rows fetched per round trip when streaming (a window of a million answers fits in little memory).
STREAM_BATCH = 10_000


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
    return (
        session.scalar(
            select(func.count(distinct(Answer.user_id)))
            .join(PulseRound, PulseRound.id == Answer.round_id)
            .where(Answer.team_id == team_id, PulseRound.status == OPEN)
        )
        or 0
    )


def counted(team_id: str, round_ids: Iterable[int], threshold: int) -> tuple:
    """The answers that count: rated 1–5, in a round's (department, statement) cell of at least
    `threshold` people."""
    department = func.coalesce(Answer.department, "")
    rated = (Answer.team_id == team_id, Answer.round_id.in_(round_ids), Answer.score.between(1, 5))
    cells = (
        select(Answer.round_id, department, Answer.item_id)
        .where(*rated)
        .group_by(Answer.round_id, department, Answer.item_id)
        .having(func.count(distinct(Answer.user_id)) >= threshold)
    )
    return (*rated, tuple_(Answer.round_id, department, Answer.item_id).in_(cells))


def weekly_ratings(
    session: Session, team_id: str, week_of_round: Mapping[int, int], threshold: int
) -> Iterator[tuple[int, str | None, str, int, int]]:
    """(week, department, item id, rating, how many) over the given rounds, each mapped to its week."""
    if not week_of_round:
        return
    week = case(week_of_round, value=Answer.round_id)
    query = (
        select(week, Answer.department, Answer.item_id, Answer.score, func.count())
        .where(*counted(team_id, week_of_round, threshold))
        .group_by(week, Answer.department, Answer.item_id, Answer.score)
    )
    for row in session.execute(query):
        yield row[0], row[1], row[2], row[3], row[4]


def weekly_cells(
    session: Session, team_id: str, week_of_round: Mapping[int, int]
) -> Iterator[tuple[int, str | None, str, int]]:
    """(week, department, item id, distinct people who rated it) over the given rounds."""
    if not week_of_round:
        return
    week = case(week_of_round, value=Answer.round_id)
    query = (
        select(week, Answer.department, Answer.item_id, func.count(distinct(Answer.user_id)))
        .where(Answer.team_id == team_id, Answer.round_id.in_(week_of_round), Answer.score.between(1, 5))
        .group_by(week, Answer.department, Answer.item_id)
    )
    for row in session.execute(query):
        yield row[0], row[1], row[2], row[3]


def weekly_respondents(
    session: Session, team_id: str, week_of_round: Mapping[int, int], threshold: int
) -> Iterator[tuple[str, str | None, str, int]]:
    """(person, department, item id, mask of the weeks they rated it in), grouped by person.

    Bit k of the mask is week k; the sum of the distinct bits is their union.
    """
    if not week_of_round:
        return
    bit = case(
        {round_id: literal(1 << week, BigInteger) for round_id, week in week_of_round.items()},
        value=Answer.round_id,
    )
    query = (
        select(Answer.user_id, Answer.department, Answer.item_id, func.sum(distinct(bit)))
        .where(*counted(team_id, week_of_round, threshold))
        .group_by(Answer.user_id, Answer.department, Answer.item_id)
        .order_by(Answer.user_id)
    )
    # Core rather than ORM execution: plain tuples, streamed, for the largest result here.
    for row in session.connection().execution_options(yield_per=STREAM_BATCH).execute(query):
        yield row[0], row[1], row[2], int(row[3])


def weekly_moments(
    session: Session,
    team_id: str,
    week_of_round: Mapping[int, int],
    threshold: int,
    scored_ids: Iterable[str],
    departments: Iterable[str],
) -> Iterator[tuple[str, str, int, str, int, tuple[float, float, float]]]:
    """(department, statement k, week, statement l, week, (Σ tₖ·tₗ, Σ tₖ·nₗ, Σ nₖ·nₗ)) over the
    scored statements, where t and n are one person's total and count of ratings of a statement in
    a week, and the sums run over the department's people (see `bot.domain.scoring.Moments`).

    The database joins each person's weekly totals with their own; only the sums leave it.
    """
    if not week_of_round:
        return
    week = case(week_of_round, value=Answer.round_id)
    per_person = (
        select(
            Answer.user_id.label("person"),
            Answer.department.label("department"),
            Answer.item_id.label("item"),
            week.label("week"),
            func.sum(Answer.score).label("total"),
            func.count().label("ratings"),
        )
        .where(
            *counted(team_id, week_of_round, threshold),
            Answer.item_id.in_(list(scored_ids)),
            Answer.department.in_(list(departments)),
        )
        .group_by(Answer.user_id, Answer.department, Answer.item_id, week)
        .subquery()
    )
    k, l = aliased(per_person), aliased(per_person)  # noqa: E741
    query = (
        select(
            k.c.department,
            k.c.item,
            k.c.week,
            l.c.item,
            l.c.week,
            func.sum(k.c.total * l.c.total),
            func.sum(k.c.total * l.c.ratings),
            func.sum(k.c.ratings * l.c.ratings),
        )
        .join(l, (k.c.person == l.c.person) & (k.c.department == l.c.department))
        .group_by(k.c.department, k.c.item, k.c.week, l.c.item, l.c.week)
    )
    for row in session.execute(query):
        yield row[0], row[1], row[2], row[3], row[4], (float(row[5]), float(row[6]), float(row[7]))


def weekly_participation(
    session: Session, team_id: str, week_of_round: Mapping[int, int]
) -> dict[tuple[int, str | None], tuple[int, int]]:
    """(week, department) → (people asked, people who answered at least one statement), over the
    given rounds; a person asked in several rounds of a week counts once per round."""
    if not week_of_round:
        return {}
    week = case(week_of_round, value=Delivery.round_id)
    asked = session.execute(
        select(week, Delivery.department, func.count())
        .where(
            Delivery.team_id == team_id,
            Delivery.round_id.in_(week_of_round),
            Delivery.status.in_((PostStatus.SENT, PostStatus.IN_CHANNEL)),
        )
        .group_by(week, Delivery.department)
    ).all()
    answered_per_round = (
        select(Answer.round_id, Answer.user_id, Answer.department)
        .where(Answer.team_id == team_id, Answer.round_id.in_(week_of_round))
        .distinct()
        .subquery()
    )
    answered_week = case(week_of_round, value=answered_per_round.c.round_id)
    answered = {
        (w, department): count
        for w, department, count in session.execute(
            select(answered_week, answered_per_round.c.department, func.count()).group_by(
                answered_week, answered_per_round.c.department
            )
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
