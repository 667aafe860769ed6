"""Rollups: what the digest, the preview and the trend read instead of the answers.

When a round closes, in the transaction that closes it, its answers are rolled up into one
`RollupPerson` row per person: their department and their ratings of the round's statements.
A digest over eight weeks then reads a row per person and round instead of one per statement,
and never joins the answers with themselves; the counting is done in `bot.domain.tallies`.

Nothing here applies the anonymity threshold: readings apply the one in force at their instant
(`storage.insights`), so a threshold change needs no rebuild. A closed round's answers do not change
(no tap is taken once its window has ended), except where the rows follow them: forget-me renames a
person's rows as it renames their answers, and retention deletes them with the answers.

`roll_up` replaces a round's rows, so rolling a round up twice leaves it rolled up once; `rebuild`
writes every closed round's rows again from the answers (`alignbot rollups rebuild`, a restore, an
upgrade across the migration that added them: see `storage.migrate`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from storage.models import UNKNOWN_DEPARTMENT, Answer, PulseRound, RollupPerson
from storage.pulses import CLOSED, OPEN

#: The digit of a statement the person gave no rating of.
NO_RATING = "0"


def roll_up(session: Session, round_id: int) -> int:
    """Write a closed round's rollup from its answers, replacing any; how many people it holds."""
    session.execute(delete(RollupPerson).where(RollupPerson.round_id == round_id))
    team_id, item_ids = session.execute(
        select(PulseRound.team_id, PulseRound.item_ids).where(PulseRound.id == round_id)
    ).one()
    slot = {item_id: index for index, item_id in reversed(list(enumerate(item_ids)))}
    people: dict[tuple[str, str], list[str]] = {}
    for user_id, department, item_id, score in session.execute(
        select(Answer.user_id, Answer.department, Answer.item_id, Answer.score).where(
            Answer.round_id == round_id
        )
    ):
        digits = people.setdefault((user_id, department or UNKNOWN_DEPARTMENT), [NO_RATING] * len(item_ids))
        if item_id in slot and 1 <= score <= 5:
            digits[slot[item_id]] = str(score)
    if people:
        session.execute(
            insert(RollupPerson),
            [
                {
                    "round_id": round_id,
                    "user_id": user_id,
                    "department": department,
                    "team_id": team_id,
                    "scores": "".join(digits),
                }
                for (user_id, department), digits in people.items()
            ],
        )
    return len(people)


def close_round(session: Session, round_id: int, now: datetime) -> bool:
    """Close an open round and roll it up, in this transaction; False (and nothing done) when it was
    no longer open: another process closed it first, or this is a retry.

    On PostgreSQL the round's row is locked first (`FOR UPDATE`), which waits for the taps still
    writing an answer to it (each holds a key-share lock on the round through its foreign key),
    so the rollup reads every answer given before the close.
    """
    status = session.scalar(select(PulseRound.status).where(PulseRound.id == round_id).with_for_update())
    if status != OPEN:
        return False
    session.execute(update(PulseRound).where(PulseRound.id == round_id).values(status=CLOSED, closed_at=now))
    roll_up(session, round_id)
    return True


def rebuild(session: Session, team_id: str | None = None) -> tuple[int, int]:
    """Write the rollups of every closed round still holding its answers again from the answers, of
    one workspace or all; (rounds, people's rows) written."""
    rounds = select(PulseRound.id).where(PulseRound.status == CLOSED, PulseRound.expired_at.is_(None))
    if team_id is not None:
        rounds = rounds.where(PulseRound.team_id == team_id)
        session.execute(delete(RollupPerson).where(RollupPerson.team_id == team_id))
    else:
        session.execute(delete(RollupPerson))
    round_ids = session.scalars(rounds.order_by(PulseRound.id)).all()
    return len(round_ids), sum(roll_up(session, round_id) for round_id in round_ids)


def forget(session: Session, team_id: str, user_id: str, pseudonym: str) -> int:
    """A forgotten person's rows go under the name their kept answers now carry (`storage.lifecycle`)."""
    return session.execute(
        update(RollupPerson)
        .where(RollupPerson.team_id == team_id, RollupPerson.user_id == user_id)
        .values(user_id=pseudonym)
    ).rowcount


def expire(session: Session, round_id: int) -> None:
    """A round whose answers retention deleted counts in no figure any more: nor do its rollups."""
    session.execute(delete(RollupPerson).where(RollupPerson.round_id == round_id))
