"""Deleting personal data: expired rounds (retention) and one person's records (forget-me)."""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage import rollups
from storage.models import (
    UNKNOWN_DEPARTMENT,
    Answer,
    Comment,
    Delivery,
    MeetingCheck,
    MeetingCheckDelivery,
    MeetingRsvp,
    PersonPreference,
    PostStatus,
    PulseRound,
    Reminder,
    RoundAggregate,
)
from storage.pulses import CLOSED

#: Rounds expired per transaction, so a first sweep over years of data does not hold one huge lock.
EXPIRY_BATCH = 20
#: A forgotten person's kept answers carry this prefix and random bytes instead of their user id.
PSEUDONYM_PREFIX = "forgotten-"
PSEUDONYM_BYTES = 11  # 22 hex digits: with the prefix, the 32 characters a user id column holds
PERSONAL_TABLES = (Answer, Comment, Delivery, PersonPreference, MeetingRsvp, MeetingCheckDelivery)


def expirable_rounds(session: Session, before: datetime) -> list[int]:
    """Finished rounds scheduled before `before` whose answers are still stored, oldest first."""
    return list(
        session.scalars(
            select(PulseRound.id)
            .where(
                PulseRound.scheduled_at < before, PulseRound.expired_at.is_(None), PulseRound.status != "open"
            )
            .order_by(PulseRound.scheduled_at)
            .limit(EXPIRY_BATCH)
        )
    )


def oldest_unexpired(session: Session) -> datetime | None:
    """When the oldest finished round still holding answers was scheduled."""
    return session.scalar(
        select(func.min(PulseRound.scheduled_at)).where(
            PulseRound.expired_at.is_(None), PulseRound.status != "open"
        )
    )


def expire_round(session: Session, round_id: int, now: datetime) -> bool:
    """Replace a round's answers, comments and deliveries by per-statement counts.

    The round is claimed with a conditional update, so two replicas never count it twice; the
    counts and the deletes commit together with the claim.
    """
    claimed = session.execute(
        update(PulseRound)
        .where(PulseRound.id == round_id, PulseRound.expired_at.is_(None))
        .values(expired_at=now)
    ).rowcount
    if not claimed:
        return False
    team_id = session.scalar(select(PulseRound.team_id).where(PulseRound.id == round_id))
    ratings: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
    for department, item_id, score, count in session.execute(
        select(Answer.department, Answer.item_id, Answer.score, func.count())
        .where(Answer.round_id == round_id, Answer.score.between(1, 5))
        .group_by(Answer.department, Answer.item_id, Answer.score)
    ):
        ratings[department or UNKNOWN_DEPARTMENT, item_id][score - 1] += count
    session.add_all(
        RoundAggregate(
            round_id=round_id, department=department, item_id=item_id, team_id=team_id, ratings=counts
        )
        for (department, item_id), counts in ratings.items()
    )
    for table in (Comment, Answer, Delivery):  # a delivery's reminders go with it (ON DELETE CASCADE)
        session.execute(delete(table).where(table.round_id == round_id))
    rollups.expire(session, round_id)
    return True


def expire_meeting_replies(session: Session, before: datetime) -> int:
    """Delete who said they would go to joint meetings, and their usefulness ratings and comments,
    for meetings before `before`. Each meeting's check stays: it was planned."""
    old_checks = select(MeetingCheck.id).where(MeetingCheck.occurrence_at < before)
    deleted = session.execute(
        delete(MeetingCheckDelivery).where(MeetingCheckDelivery.check_id.in_(old_checks))
    )
    rsvps = session.execute(delete(MeetingRsvp).where(MeetingRsvp.occurrence_date < before.date()))
    return deleted.rowcount + rsvps.rowcount


def forget_person(session: Session, team_id: str, user_id: str, now: datetime) -> dict[str, int]:
    """Delete what is stored about one person in one workspace, and cut them off from the rest;
    how many rows of each kind.

    Their comments, preferences and meeting RSVPs go, and everything of the rounds and checks
    still open (no figure counts them yet). What closed rounds and checks count of them (the
    ratings, that they were asked) stays, so that no figure anyone has seen changes, under one
    fresh random name kept nowhere else; the DM ids and times that could lead back to them go.
    """
    pseudonym = PSEUDONYM_PREFIX + secrets.token_hex(PSEUDONYM_BYTES)
    mine = {table: (table.team_id == team_id, table.user_id == user_id) for table in PERSONAL_TABLES}
    closed_rounds = select(PulseRound.id).where(PulseRound.team_id == team_id, PulseRound.status == CLOSED)
    closed_checks = select(MeetingCheck.id).where(
        MeetingCheck.team_id == team_id, MeetingCheck.closes_at <= now
    )
    counted_deliveries = (
        *mine[Delivery],
        Delivery.round_id.in_(closed_rounds),
        Delivery.status.in_((PostStatus.SENT, PostStatus.IN_CHANNEL)),
    )
    counted_checks = (
        *mine[MeetingCheckDelivery],
        MeetingCheckDelivery.check_id.in_(closed_checks),
        MeetingCheckDelivery.score.is_not(None),
    )
    # Reminders would tie the kept deliveries back to the person's DM.
    session.execute(
        delete(Reminder).where(Reminder.delivery_id.in_(select(Delivery.id).where(*counted_deliveries)))
    )
    answers = session.execute(
        update(Answer)
        .where(*mine[Answer], Answer.round_id.in_(closed_rounds))
        .values(
            user_id=pseudonym,
            answered_at=select(PulseRound.scheduled_at)
            .where(PulseRound.id == Answer.round_id)
            .scalar_subquery(),
        )
    ).rowcount
    rollups.forget(session, team_id, user_id, pseudonym)
    # Kept deliveries and check replies lose their DM, and when the person got or answered them.
    unlinked = {
        "user_id": pseudonym,
        "channel_id": None,
        "message_ts": None,
        "error": None,
        "claimed_at": None,
    }
    deliveries = session.execute(
        update(Delivery)
        .where(*counted_deliveries)
        .values(**unlinked, sent_at=None, completed_at=None, closed_notice=True)
    ).rowcount
    meeting_checks = session.execute(
        update(MeetingCheckDelivery).where(*counted_checks).values(**unlinked, answered_at=None, comment=None)
    ).rowcount
    deleted = {}
    for name, table in (
        ("answers", Answer),
        ("comments", Comment),
        ("deliveries", Delivery),  # a delivery's reminders go with it (ON DELETE CASCADE)
        ("preferences", PersonPreference),
        ("meeting_replies", MeetingRsvp),
        ("meeting_checks", MeetingCheckDelivery),
    ):
        deleted[name] = session.execute(delete(table).where(*mine[table])).rowcount
    deleted["answers"] += answers
    deleted["deliveries"] += deliveries
    deleted["meeting_checks"] += meeting_checks
    return deleted
