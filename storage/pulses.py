"""Persistence of cadences, rounds, deliveries, answers, comments and reminders.

The idempotency keys live in the schema: a round per (cadence, occurrence), a delivery per
(round, person), an answer per (round, item, person), a reminder per (delivery, number).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache

from sqlalchemy import Insert, Select, bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.domain.cadence import KIND_BASELINE, CadenceSettings
from storage.models import (
    UNCONFIRMED,
    Answer,
    Cadence,
    ChannelPost,
    Comment,
    CustomItem,
    Delivery,
    DisabledItem,
    PostStatus,
    PulseRound,
    Reminder,
    Workspace,
)
from storage.workspaces import claim_some, dialect_insert, insert_once, installed

OPEN, CLOSED, SKIPPED = "open", "closed", "skipped"


# ----- cadences --------------------------------------------------------------------------------


def settings_of(cadence: Cadence) -> CadenceSettings:
    return CadenceSettings(
        name=cadence.name,
        recurrence=cadence.recurrence(),
        audience_channels=tuple(cadence.audience_channels),
        items_per_round=cadence.items_per_round,
        answer_window_hours=cadence.answer_window_hours,
        reminders=cadence.reminders,
        reminder_spacing_hours=cadence.reminder_spacing_hours,
        delivery=cadence.delivery,
        include_guests=cadence.include_guests,
        quiet_hours=cadence.quiet_hours,
        holiday_calendars=tuple(cadence.holiday_calendars),
        team_calendars={team: tuple(names) for team, names in cadence.team_holiday_calendars.items()},
        kind=cadence.kind,
    )


def _apply(cadence: Cadence, settings: CadenceSettings) -> None:
    cadence.name = settings.name
    cadence.audience_channels = list(settings.audience_channels)
    cadence.set_recurrence(settings.recurrence)
    cadence.items_per_round = settings.items_per_round
    cadence.answer_window_hours = settings.answer_window_hours
    cadence.reminders = settings.reminders
    cadence.reminder_spacing_hours = settings.reminder_spacing_hours
    cadence.delivery = settings.delivery
    cadence.include_guests = settings.include_guests
    cadence.quiet_hours = settings.quiet_hours
    cadence.holiday_calendars = list(settings.holiday_calendars)
    cadence.team_holiday_calendars = {team: list(names) for team, names in settings.team_calendars.items()}
    cadence.kind = settings.kind


def create_cadence(
    session: Session, team_id: str, settings: CadenceSettings, created_by: str, now: datetime, seed: str
) -> Cadence:
    cadence = Cadence(
        team_id=team_id,
        paused=False,
        skip_occurrence=None,
        planned_until=now,
        seed=seed,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    _apply(cadence, settings)
    session.add(cadence)
    session.flush()
    return cadence


def update_cadence(session: Session, cadence: Cadence, settings: CadenceSettings, now: datetime) -> None:
    _apply(cadence, settings)
    cadence.skip_occurrence = None
    cadence.planned_until = max(cadence.planned_until, now)
    cadence.updated_at = now


def cadence_named(session: Session, team_id: str, name: str) -> Cadence | None:
    return session.scalars(
        select(Cadence).where(Cadence.team_id == team_id, func.lower(Cadence.name) == name.lower())
    ).first()


def cadences_of(session: Session, team_id: str) -> list[Cadence]:
    return list(session.scalars(select(Cadence).where(Cadence.team_id == team_id).order_by(Cadence.name)))


def active_cadences(session: Session) -> list[Cadence]:
    return list(
        session.scalars(
            select(Cadence).where(Cadence.paused.is_(False), installed(Cadence)).order_by(Cadence.id)
        )
    )


def delete_cadence(session: Session, cadence: Cadence) -> None:
    session.delete(cadence)


# ----- rounds ----------------------------------------------------------------------------------


def add_round(
    session: Session,
    cadence: Cadence,
    occurrence_key: str,
    scheduled_at: datetime,
    closes_at: datetime,
    item_ids: Sequence[str],
    now: datetime,
    skip_reason: str | None = None,
) -> PulseRound | None:
    """The new round, or None when that occurrence already has one (another process got there first)."""
    inserted = insert_once(
        session,
        PulseRound,
        team_id=cadence.team_id,
        cadence_id=cadence.id,
        occurrence_key=occurrence_key,
        scheduled_at=scheduled_at,
        closes_at=closes_at,
        status=SKIPPED if skip_reason else OPEN,
        skip_reason=skip_reason,
        item_ids=list(item_ids),
        delivery=cadence.delivery,
        audience_size=None,
        created_at=now,
        closed_at=None,
    )
    if not inserted:
        return None
    return session.scalars(
        select(PulseRound).where(
            PulseRound.cadence_id == cadence.id, PulseRound.occurrence_key == occurrence_key
        )
    ).one()


def item_history(session: Session, cadence_id: int) -> list[list[str]]:
    """The statements of each round this cadence actually sent, oldest first (for rotation)."""
    rows = session.scalars(
        select(PulseRound.item_ids)
        .where(PulseRound.cadence_id == cadence_id, PulseRound.status != SKIPPED)
        .order_by(PulseRound.scheduled_at, PulseRound.id)
    )
    return [list(items) for items in rows]


def baseline_rounds(session: Session, team_id: str, start: datetime, end: datetime) -> list[datetime]:
    """When the baseline rounds scheduled in [start, end) and closed by `end` were sent."""
    return list(
        session.scalars(
            select(PulseRound.scheduled_at)
            .join(Cadence, Cadence.id == PulseRound.cadence_id)
            .where(
                PulseRound.team_id == team_id,
                Cadence.kind == KIND_BASELINE,
                PulseRound.scheduled_at >= start,
                PulseRound.scheduled_at < end,
                PulseRound.status == CLOSED,
                PulseRound.closed_at <= end,
            )
        )
    )


def rounds_by_id(session: Session, round_ids: Iterable[int]) -> dict[int, PulseRound]:
    """The rounds with these ids that exist, by id, in one query."""
    ids = set(round_ids)
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(PulseRound).where(PulseRound.id.in_(ids)))}


def rounds_needing_audience(session: Session) -> list[PulseRound]:
    return list(
        session.scalars(
            select(PulseRound)
            .where(PulseRound.status == OPEN, PulseRound.audience_size.is_(None), installed(PulseRound))
            .order_by(PulseRound.id)
        )
    )


def open_rounds(session: Session) -> list[PulseRound]:
    return list(
        session.scalars(
            select(PulseRound).where(PulseRound.status == OPEN, installed(PulseRound)).order_by(PulseRound.id)
        )
    )


def rounds_to_close(session: Session, now: datetime) -> list[PulseRound]:
    return list(
        session.scalars(
            select(PulseRound).where(
                PulseRound.status == OPEN, PulseRound.closes_at <= now, installed(PulseRound)
            )
        )
    )


def add_deliveries(
    session: Session,
    pulse_round: PulseRound,
    people: Iterable[tuple[str, str | None, str, Mapping[str, object]]],
    status: str,
) -> int:
    """Write down the recipients (user, department, language, and their own times and status where
    they differ: see `Delivery`) of a round, each at most once (the round and person are the key);
    returns how many the round now has.

    Rows go as the driver's own executemany (psycopg pipelines them in one round trip) of one short
    statement per set of columns, not as one statement of many rows: psycopg parses each statement's
    text in Python, and a statement of 200 rows' values, a new text each time, cost the leader 16 ms
    of CPU per workspace while every workspace's round waited for its audience."""
    alike: dict[frozenset[str], list[dict[str, object]]] = {}
    for user_id, department, language, own in people:
        row = {
            "team_id": pulse_round.team_id,
            "round_id": pulse_round.id,
            "user_id": user_id,
            "department": department,
            "needs_department": department is None,
            "language": language,
            "attempts": 0,
            "closed_notice": False,
            "status": status,
            **own,
        }
        alike.setdefault(frozenset(row), []).append(row)
    statement = dialect_insert(session)(Delivery).on_conflict_do_nothing()
    connection = session.connection()  # Core's executemany: the statement is compiled once
    for rows in alike.values():
        connection.execute(statement, rows)
    count = session.scalar(select(func.count()).where(Delivery.round_id == pulse_round.id)) or 0
    pulse_round.audience_size = count
    return count


def claim_deliveries(session: Session, now: datetime, room: Callable[[str], int]) -> list[Delivery]:
    """Pending deliveries that are due, now `sending` for this process: from every workspace with some,
    as many as `room(team_id)` says it can send soon, all in one statement (see `claim_some`), so
    workspaces go out side by side."""
    due = or_(Delivery.due_at.is_(None), Delivery.due_at <= now)
    teams = session.scalars(
        select(Delivery.team_id)
        .where(Delivery.status == PostStatus.PENDING, installed(Delivery), due)
        .distinct()
    ).all()
    return claim_some(
        session,
        Delivery,
        now,
        {team_id: room(team_id) for team_id in teams},
        due,
        attempts=Delivery.attempts + 1,
    )


def delivery_for(session: Session, round_id: int, user_id: str) -> Delivery | None:
    return session.scalars(
        select(Delivery).where(Delivery.round_id == round_id, Delivery.user_id == user_id)
    ).first()


def remaining_deliveries(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).where(Delivery.status.in_((PostStatus.PENDING, PostStatus.SENDING)))
        )
        or 0
    )


# ----- answers and comments --------------------------------------------------------------------


def save_answers(
    session: Session, answers: Iterable[tuple[Delivery | TapCopy, str, int]], now: datetime
) -> None:
    """Insert or update each (copy of a round, statement, score): tapping again, or Slack retrying the tap,
    leaves one answer, the last. One statement for them all (a statement tapped twice among them keeps
    the later score: one row may not be upserted twice in one statement)."""
    rows = {
        (copy.round_id, item_id, copy.user_id): {
            "new_round_id": copy.round_id,
            "new_item_id": item_id,
            "new_user_id": copy.user_id,
            "new_team_id": copy.team_id,
            "new_department": copy.department,
            "new_score": score,
            "new_answered_at": now,
        }
        for copy, item_id, score in answers
    }
    if rows:
        connection = session.connection()  # Core statements: no ORM to run
        connection.execute(_answer_upsert(connection.dialect.name), list(rows.values()))


ANSWER_COLUMNS = ("round_id", "item_id", "user_id", "team_id", "department", "score", "answered_at")


@cache
def _answer_upsert(dialect: str) -> Insert:
    """`save_answers`' statement, built once per database kind (every batch of taps runs it); a Core
    insert on the table, so the ORM's bulk-insert machinery is not run."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = Answer.__table__
    statement = insert(table).values({column: bindparam(f"new_{column}") for column in ANSWER_COLUMNS})
    return statement.on_conflict_do_update(
        index_elements=[table.c.round_id, table.c.item_id, table.c.user_id],
        set_={"score": statement.excluded.score, "answered_at": statement.excluded.answered_at},
    )


@dataclass(frozen=True)
class TapRound:
    """What a tap reads of a round (`tap_targets`): plain values, not a mapped object, which the ORM would
    load, track and flush for every tap."""

    id: int
    team_id: str
    status: str
    closes_at: datetime
    item_ids: list[str]
    delivery: str


@dataclass(frozen=True)
class TapCopy:
    """What a tap reads of the person's copy of a round (see `TapRound`)."""

    id: int
    round_id: int
    user_id: str
    team_id: str
    department: str | None
    language: str
    closes_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class TapTarget:
    """What a rating tap needs, read with those of the taps stored with it (`tap_targets`)."""

    round: TapRound
    delivery: TapCopy
    anonymity_threshold: int | None
    """The workspace's, as it is now (None before it is set up); never kept between requests."""
    commented: bool
    answers: dict[str, int]
    """The person's answers in the round so far, by statement."""


def tap_targets(session: Session, pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], TapTarget]:
    """For rating taps, by (round, person): the round and the person's copy of it, with the round's
    workspace's anonymity threshold, whether they commented and their answers so far. Two statements for
    any number of taps (the second reads the answers). A pair whose person was not asked is left out.

    On PostgreSQL each round's row is share-locked (`FOR KEY SHARE`: taps of other people go on side by
    side) until the transaction ends, so a close (which locks it `FOR UPDATE`, `storage.rollups.close_round`)
    either waits for these answers and rolls them up, or comes first and the taps find the round closed:
    never an answer in a closed round. The person's copy is locked, so that their own taps take turns;
    copies are locked in the order of their ids, so two transactions locking several never wait on each
    other in a circle. The answers are read after the locks are held, in a statement of their own: its
    snapshot is later than the lock's wait, so it sees a tap of theirs that held the lock and committed
    meanwhile (on SQLite the transaction has held the database's one write lock since it began)."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    rows = session.connection().execute(_tap_targets(), {"pairs": wanted}).all()
    copy_starts, copy_ends = len(ROUND_COLUMNS), len(ROUND_COLUMNS) + len(COPY_COLUMNS)
    found = {(row.id, row.copy_user_id): row for row in rows}
    answers = answers_of_many(session, list(found))
    return {
        pair: TapTarget(
            TapRound(*row[:copy_starts]),
            TapCopy(*row[copy_starts:copy_ends]),
            row.anonymity_threshold,
            row.commented is not None,
            answers.get(pair, {}),
        )
        for pair, row in found.items()
    }


ROUND_COLUMNS = tuple(field.name for field in fields(TapRound))
COPY_COLUMNS = tuple(field.name for field in fields(TapCopy))


@cache
def _tap_targets() -> Select:
    """`tap_targets`' locking statement: a Core select of columns, run on the session's connection."""
    person = Delivery.user_id
    return (
        select(
            *(getattr(PulseRound, name) for name in ROUND_COLUMNS),
            *(getattr(Delivery, name).label(f"copy_{name}") for name in COPY_COLUMNS),
            Workspace.anonymity_threshold,
            Comment.round_id.label("commented"),
        )
        .join(Delivery, Delivery.round_id == PulseRound.id)
        .outerjoin(Workspace, Workspace.team_id == PulseRound.team_id)
        .outerjoin(Comment, (Comment.round_id == PulseRound.id) & (Comment.user_id == person))
        .where(tuple_(PulseRound.id, person).in_(bindparam("pairs", expanding=True)))
        .order_by(Delivery.id)
        .with_for_update(read=True, key_share=True, of=PulseRound.__table__)
        .suffix_with("FOR NO KEY UPDATE OF pulse_deliveries", dialect="postgresql")
    )


def mark_completed(session: Session, copy_ids: Collection[int], now: datetime) -> None:
    """The people have answered every statement of these copies of rounds."""
    if copy_ids:
        session.connection().execute(
            update(Delivery).where(Delivery.id.in_(sorted(copy_ids))).values(completed_at=now)
        )


def answers_of(session: Session, round_id: int, user_id: str) -> dict[str, int]:
    rows = session.execute(
        select(Answer.item_id, Answer.score).where(Answer.round_id == round_id, Answer.user_id == user_id)
    )
    return {key: value for key, value in rows}


def answers_of_many(
    session: Session, pairs: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], dict[str, int]]:
    """`answers_of` for many (round, person) pairs in one query: each pair's answers, by statement."""
    found: dict[tuple[int, str], dict[str, int]] = {}
    if not pairs:
        return found
    wanted = set(pairs)
    rows = session.execute(
        select(Answer.round_id, Answer.user_id, Answer.item_id, Answer.score).where(
            Answer.round_id.in_({round_id for round_id, _ in wanted}),
            Answer.user_id.in_({user_id for _, user_id in wanted}),
        )
    )
    for round_id, user_id, item_id, score in rows:
        if (round_id, user_id) in wanted:
            found.setdefault((round_id, user_id), {})[item_id] = score
    return found


def open_deliveries_without_department(session: Session, team_id: str, user_id: str) -> list[Delivery]:
    """The person's copies of the workspace's open rounds that were sent before they chose a department."""
    return list(
        session.scalars(
            select(Delivery)
            .join(PulseRound, PulseRound.id == Delivery.round_id)
            .where(
                PulseRound.team_id == team_id,
                PulseRound.status == OPEN,
                Delivery.user_id == user_id,
                Delivery.department.is_(None),
            )
            .with_for_update(of=Delivery)
        )
    )


def set_department(session: Session, delivery: Delivery, department: str) -> None:
    """The department of a round sent without one, applied to what the person already answered in it
    (answers given with a department keep it)."""
    delivery.department = department
    session.execute(
        update(Answer)
        .where(
            Answer.round_id == delivery.round_id,
            Answer.user_id == delivery.user_id,
            Answer.department.is_(None),
        )
        .values(department=department)
    )
    session.execute(
        update(Comment)
        .where(
            Comment.round_id == delivery.round_id,
            Comment.user_id == delivery.user_id,
            Comment.department.is_(None),
        )
        .values(department=department)
    )


def save_comment(session: Session, delivery: Delivery, text: str, now: datetime) -> None:
    comment = session.get(Comment, (delivery.round_id, delivery.user_id))
    if comment is None:
        session.add(
            Comment(
                round_id=delivery.round_id,
                user_id=delivery.user_id,
                team_id=delivery.team_id,
                department=delivery.department,
                text=text,
                written_at=now,
            )
        )
    else:
        comment.text = text
        comment.written_at = now


def comment_of(session: Session, round_id: int, user_id: str) -> str | None:
    comment = session.get(Comment, (round_id, user_id))
    return comment.text if comment else None


def commented(session: Session, pairs: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of the (round, person) pairs have a comment, in one query."""
    if not pairs:
        return set()
    wanted = set(pairs)
    rows = session.execute(
        select(Comment.round_id, Comment.user_id).where(
            Comment.round_id.in_({round_id for round_id, _ in wanted}),
            Comment.user_id.in_({user_id for _, user_id in wanted}),
        )
    )
    return {(round_id, user_id) for round_id, user_id in rows} & wanted


def unconfirmed_posts(
    session: Session, team_id: str, since: datetime
) -> list[tuple[str, str, datetime, int]]:
    """The workspace's pulse posts given up unconfirmed (see `UNCONFIRMED`) in rounds scheduled since
    `since`: (`dm`, `reminder` or `channel_post`, the cadence's name, the round's instant, how many),
    newest first."""
    found = []
    for kind, model, round_of in (
        ("dm", Delivery, Delivery.round_id),
        ("reminder", Reminder, Delivery.round_id),
        ("channel_post", ChannelPost, ChannelPost.round_id),
    ):
        query = select(Cadence.name, PulseRound.scheduled_at, func.count()).select_from(model)
        if model is Reminder:
            query = query.join(Delivery, Delivery.id == Reminder.delivery_id)
        rows = session.execute(
            query.join(PulseRound, PulseRound.id == round_of)
            .join(Cadence, Cadence.id == PulseRound.cadence_id)
            .where(
                model.team_id == team_id,
                model.status == PostStatus.FAILED,
                model.error == UNCONFIRMED,
                PulseRound.scheduled_at >= since,
            )
            .group_by(PulseRound.id, Cadence.name, PulseRound.scheduled_at)
        )
        found += [(kind, name, scheduled_at, count) for name, scheduled_at, count in rows]
    return sorted(found, key=lambda row: (row[2], row[0]), reverse=True)


# ----- reminders and channel posts -------------------------------------------------------------


def claim_reminder(session: Session, delivery: Delivery, number: int, now: datetime) -> bool:
    return insert_once(
        session,
        Reminder,
        delivery_id=delivery.id,
        number=number,
        team_id=delivery.team_id,
        status=PostStatus.SENDING,
        claimed_at=now,
    )


def add_channel_posts(
    session: Session, pulse_round: PulseRound, channels: Iterable[str], language: str
) -> None:
    for channel_id in channels:
        insert_once(
            session,
            ChannelPost,
            round_id=pulse_round.id,
            channel_id=channel_id,
            team_id=pulse_round.team_id,
            language=language,
            status=PostStatus.PENDING,
        )


def channel_posts(session: Session, round_id: int) -> list[ChannelPost]:
    return list(session.scalars(select(ChannelPost).where(ChannelPost.round_id == round_id)))


# ----- the statements a workspace uses ---------------------------------------------------------


def custom_items(session: Session, team_id: str) -> list[CustomItem]:
    return list(
        session.scalars(select(CustomItem).where(CustomItem.team_id == team_id).order_by(CustomItem.item_id))
    )


def disabled_items(session: Session, team_id: str) -> set[str]:
    return set(session.scalars(select(DisabledItem.item_id).where(DisabledItem.team_id == team_id)))


def set_item_enabled(session: Session, team_id: str, item_id: str, enabled: bool) -> None:
    if enabled:
        session.execute(
            delete(DisabledItem).where(DisabledItem.team_id == team_id, DisabledItem.item_id == item_id)
        )
    else:
        insert_once(session, DisabledItem, team_id=team_id, item_id=item_id)


def add_custom_item(
    session: Session, team_id: str, dimension: str, texts: dict[str, str], created_by: str, now: datetime
) -> str:
    """A new custom statement with the next free id (`cus01`, `cus02`, …)."""
    existing = session.scalars(select(CustomItem.item_id).where(CustomItem.team_id == team_id)).all()
    number = 1 + max((int(item_id[3:]) for item_id in existing if item_id[3:].isdigit()), default=0)
    item_id = f"cus{number:02d}"
    session.add(
        CustomItem(
            team_id=team_id,
            item_id=item_id,
            dimension=dimension,
            text_en=texts.get("en"),
            text_fa=texts.get("fa"),
            created_by=created_by,
            created_at=now,
        )
    )
    return item_id


def closed_notices_pending(session: Session, limit: int, now: datetime) -> list[Delivery]:
    """Sent DMs of closed rounds, or whose person's own window has ended, that do not yet say so."""
    return list(
        session.scalars(
            select(Delivery)
            .join(PulseRound, PulseRound.id == Delivery.round_id)
            .where(
                or_(PulseRound.status == CLOSED, Delivery.closes_at <= now),
                Delivery.status == PostStatus.SENT,
                Delivery.closed_notice.is_(False),
                installed(Delivery),
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
    )


def unfinished(session: Session, pulse_round: PulseRound) -> list[tuple[Delivery, int]]:
    """Deliveries of a round whose person has not finished, with the last reminder number they had (0)."""
    reminded = (
        select(Reminder.delivery_id, func.max(Reminder.number).label("number"))
        .group_by(Reminder.delivery_id)
        .subquery()
    )
    rows = session.execute(
        select(Delivery, func.coalesce(reminded.c.number, 0))
        .outerjoin(reminded, reminded.c.delivery_id == Delivery.id)
        .where(
            Delivery.round_id == pulse_round.id,
            Delivery.status.in_((PostStatus.SENT, PostStatus.IN_CHANNEL)),
            Delivery.completed_at.is_(None),
        )
        .order_by(Delivery.id)
    )
    return [(delivery, number) for delivery, number in rows]


def away_deliveries(session: Session, now: datetime) -> list[tuple[Delivery, PulseRound]]:
    """Copies held back while their person was away, in rounds still open for them."""
    rows = session.execute(
        select(Delivery, PulseRound)
        .join(PulseRound, PulseRound.id == Delivery.round_id)
        .where(
            PulseRound.status == OPEN,
            PulseRound.closes_at > now,
            Delivery.status == PostStatus.AWAY,
            or_(Delivery.closes_at.is_(None), Delivery.closes_at > now),
            installed(Delivery),
        )
        .order_by(Delivery.id)
    )
    return [(delivery, pulse_round) for delivery, pulse_round in rows]


def next_due(session: Session, now: datetime) -> datetime | None:
    """The next instant a pending copy falls due (each person's own time, out of quiet hours)."""
    return session.scalar(
        select(func.min(Delivery.due_at)).where(Delivery.status == PostStatus.PENDING, Delivery.due_at > now)
    )
