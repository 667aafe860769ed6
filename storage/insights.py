"""Reading answers back for scoring: by time window, with each answer's department."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import IN_CHANNEL, SENT, Answer, Comment, Delivery, PulseRound

#: Rows fetched per round trip when streaming answers (a million fit in little memory this way).
STREAM_BATCH = 10_000


def answers_between(
    session: Session, team_id: str, start: datetime, end: datetime
) -> Iterator[tuple[str, str, str | None, int]]:
    """(respondent, item id, department, score) for rounds scheduled in [start, end), streamed."""
    query = (
        select(Answer.user_id, Answer.item_id, Answer.department, Answer.score)
        .join(PulseRound, PulseRound.id == Answer.round_id)
        .where(Answer.team_id == team_id, PulseRound.scheduled_at >= start, PulseRound.scheduled_at < end)
        .execution_options(yield_per=STREAM_BATCH)
    )
    for row in session.execute(query):
        yield row[0], row[1], row[2], row[3]


def participation_between(
    session: Session, team_id: str, start: datetime, end: datetime
) -> dict[str | None, tuple[int, int]]:
    """Department → (people asked, people who answered at least one statement), over the rounds
    scheduled in [start, end); a person asked in several rounds counts once per round."""
    asked = dict(
        session.execute(
            select(Delivery.department, func.count())
            .join(PulseRound, PulseRound.id == Delivery.round_id)
            .where(
                Delivery.team_id == team_id,
                Delivery.status.in_((SENT, IN_CHANNEL)),
                PulseRound.scheduled_at >= start,
                PulseRound.scheduled_at < end,
            )
            .group_by(Delivery.department)
        ).all()
    )
    answered_per_round = (
        select(Answer.round_id, Answer.user_id, Answer.department)
        .join(PulseRound, PulseRound.id == Answer.round_id)
        .where(Answer.team_id == team_id, PulseRound.scheduled_at >= start, PulseRound.scheduled_at < end)
        .distinct()
        .subquery()
    )
    answered = dict(
        session.execute(
            select(answered_per_round.c.department, func.count()).group_by(answered_per_round.c.department)
        ).all()
    )
    return {department: (count, answered.get(department, 0)) for department, count in asked.items()}


def comments_between(
    session: Session, team_id: str, start: datetime, end: datetime
) -> list[tuple[str | None, str]]:
    """(department, text) of the comments on rounds scheduled in [start, end), newest first.

    No author and no date leave this function: the digest must not show them.
    """
    rows = session.execute(
        select(Comment.department, Comment.text)
        .join(PulseRound, PulseRound.id == Comment.round_id)
        .where(Comment.team_id == team_id, PulseRound.scheduled_at >= start, PulseRound.scheduled_at < end)
        .order_by(Comment.written_at.desc())
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
            Delivery.status.in_((SENT, IN_CHANNEL)),
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
