"""Reading and writing a workspace's configuration and its people's preferences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache

from sqlalchemy import (
    ColumnElement,
    Insert,
    Integer,
    String,
    bindparam,
    delete,
    func,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.domain.snapshot import ThresholdChange
from bot.domain.vocabulary import MARKETING, SALES
from bot.domain.workspace_setup import WorkspaceConfig
from storage.models import (
    Base,
    DepartmentChannel,
    HandledRequest,
    PersonPreference,
    PostStatus,
    Workspace,
    WorkspaceAdmin,
)
from storage.models import ThresholdChange as ThresholdChangeRow


def dialect_insert(session: Session):
    """The INSERT construct of the session's database, which knows ON CONFLICT (upserts, insert_once)."""
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def insert_once(session: Session, model: type[Base], **values: object) -> bool:
    """Insert a row unless its key exists already; True when this call inserted it.

    This is how idempotency keys are enforced: by the database's own uniqueness, so two
    processes racing on the same key cannot both win.
    """
    statement = _insert_once(session.get_bind().dialect.name, model)
    return session.execute(statement, values).first() is not None


@cache
def _insert_once(dialect: str, model: type[Base]) -> Insert:
    """`insert_once`'s statement, built once per database kind and table (every tap claims a key with
    it): a Core insert, its values bound when run, so nothing is rebuilt or mapped per call. It returns
    the key of each row it inserted (`claim_requests` runs it for many rows at once)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = model.__table__
    return insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


def installed(model: type[Base]) -> ColumnElement[bool]:
    """Rows of workspaces that still have the app: the runners find no work in an uninstalled one."""
    uninstalled = select(Workspace.team_id).where(Workspace.uninstalled_at.is_not(None))
    return model.team_id.not_in(uninstalled)


def claim_pending(
    session: Session,
    model: type[Base],
    now: datetime,
    limit: int | None = None,
    due: ColumnElement[bool] | None = None,
    **also: object,
) -> list:
    """Move pending rows of `model` to `sending`, one conditional update each, and return those won.

    Only the process whose update still finds a row pending sends it: the database, not a lock
    in one process, decides who posts a message, so two processes never post it twice. Rows of
    uninstalled workspaces stay pending, and so do rows not yet `due`.
    """
    key = list(model.__table__.primary_key.columns)
    pending = select(model).where(model.status == PostStatus.PENDING, installed(model)).order_by(*key)
    if due is not None:
        pending = pending.where(due)
    claimed = []
    for row in session.scalars(pending.limit(limit) if limit else pending).all():
        same_row = [column == getattr(row, column.key) for column in key]
        won = session.execute(
            update(model)
            .where(*same_row, model.status == PostStatus.PENDING)
            .values(status=PostStatus.SENDING, claimed_at=now, **also)
            .returning(key[0])
        ).first()
        if won:
            session.refresh(row)
            claimed.append(row)
    return claimed


def claim_some(
    session: Session,
    model: type[Base],
    now: datetime,
    limits: Mapping[str, int],
    *where: ColumnElement[bool],
    **also: object,
) -> list:
    """Move up to `limits[team_id]` pending rows of `model` (matching `where`) of each workspace named
    there to `sending`, and return them in key order.

    On PostgreSQL every workspace's rows are chosen in one statement, each workspace's `FOR UPDATE SKIP
    LOCKED` (a lateral subquery per workspace; their ids and limits go as two arrays, so the statement
    reads the same whatever their number), so replicas claiming at once take different rows instead
    of waiting for each other, and a claim costs one statement however many workspaces it serves. On
    SQLite (one process, writers serialised anyway) one statement per workspace. Either way the
    update's own `pending` condition keeps a row from being claimed twice.
    """
    key = list(model.__table__.primary_key.columns)[0]
    pending = (model.status == PostStatus.PENDING, installed(model), *where)
    limits = {team_id: limit for team_id, limit in limits.items() if limit > 0}
    if not limits:
        return []
    if session.get_bind().dialect.name == "postgresql":
        teams = sorted(limits)
        room = (
            func.unnest(
                bindparam("teams", teams, type_=ARRAY(String)),
                bindparam("rooms", [limits[team] for team in teams], type_=ARRAY(Integer)),
            )
            .table_valued("team_id", "room")
            .render_derived(name="room", with_types=False)
        )
        each = (
            select(key)
            .where(model.team_id == room.c.team_id, *pending)
            .order_by(key)
            .limit(room.c.room)
            .with_for_update(skip_locked=True)
            .lateral()
        )
        chosen = [select(each.c[key.name]).select_from(room).join(each, true()).scalar_subquery()]
    else:
        chosen = [
            select(key).where(model.team_id == team_id, *pending).order_by(key).limit(limit).scalar_subquery()
            for team_id, limit in sorted(limits.items())
        ]
    claimed = []
    for ids in chosen:
        claimed += session.scalars(
            update(model)
            .where(key.in_(ids), model.status == PostStatus.PENDING)
            .values(status=PostStatus.SENDING, claimed_at=now, **also)
            .returning(model)
            .execution_options(synchronize_session=False, populate_existing=True)
        ).all()
    return sorted(claimed, key=lambda row: getattr(row, key.key))


def stale_claims(session: Session, model: type[Base], before: datetime) -> list:
    """Rows of `model` claimed before `before` and never settled: their sender went quiet mid-post
    (a crash, an answer that never came), so whether Slack has the message is to be looked up."""
    key = list(model.__table__.primary_key.columns)
    return list(
        session.scalars(
            select(model)
            .where(model.status == PostStatus.SENDING, model.claimed_at < before, installed(model))
            .order_by(*key)
        )
    )


def load_config(session: Session, team_id: str) -> WorkspaceConfig | None:
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        return None
    return WorkspaceConfig(
        sales_channels=tuple(c.channel_id for c in workspace.channels if c.department == SALES),
        marketing_channels=tuple(c.channel_id for c in workspace.channels if c.department == MARKETING),
        leadership_channel=workspace.leadership_channel_id,
        timezone=workspace.timezone,
        default_language=workspace.default_language,
        anonymity_threshold=workspace.anonymity_threshold,
        admins=tuple(a.user_id for a in workspace.admins),
    )


#: PostgreSQL NOTIFY channel: "this workspace's settings changed"; the payload is its team id.
SETTINGS_CHANNEL = "alignbot_settings"


def announce_settings_change(session: Session, team_id: str) -> None:
    """Tell every replica's listener (PostgreSQL) that the workspace's settings changed; sent with the
    transaction, so only if it commits. Nothing to tell on SQLite: one process writes."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(SETTINGS_CHANNEL, team_id)))


def anonymity_threshold(session: Session, team_id: str) -> int | None:
    return session.scalar(select(Workspace.anonymity_threshold).where(Workspace.team_id == team_id))


def save_config(
    session: Session, team_id: str, config: WorkspaceConfig, configured_by: str, now: datetime
) -> None:
    """Replace the workspace's configuration as a whole (setup always submits every field)."""
    workspace = session.get(Workspace, team_id, with_for_update=True)
    if workspace is None:
        workspace = Workspace(team_id=team_id)
        session.add(workspace)
    workspace.timezone = config.timezone
    workspace.default_language = config.default_language
    workspace.anonymity_threshold = config.anonymity_threshold
    workspace.leadership_channel_id = config.leadership_channel
    workspace.configured_by = configured_by
    workspace.configured_at = now
    workspace.channels = [
        DepartmentChannel(team_id=team_id, channel_id=channel, department=SALES)
        for channel in config.sales_channels
    ] + [
        DepartmentChannel(team_id=team_id, channel_id=channel, department=MARKETING)
        for channel in config.marketing_channels
    ]
    workspace.admins = [WorkspaceAdmin(team_id=team_id, user_id=user) for user in config.admins]


def record_threshold_change(
    session: Session, team_id: str, old: int | None, new: int, changed_by: str, now: datetime
) -> None:
    session.add(
        ThresholdChangeRow(
            team_id=team_id, old_threshold=old, new_threshold=new, changed_by=changed_by, changed_at=now
        )
    )


def threshold_changes(session: Session, team_id: str) -> list[ThresholdChange]:
    """The workspace's anonymity threshold changes, oldest first."""
    rows = session.scalars(
        select(ThresholdChangeRow)
        .where(ThresholdChangeRow.team_id == team_id)
        .order_by(ThresholdChangeRow.changed_at, ThresholdChangeRow.id)
    )
    return [ThresholdChange(r.changed_by, r.changed_at, r.old_threshold, r.new_threshold) for r in rows]


def configured_admins(session: Session, team_id: str) -> set[str]:
    return set(session.scalars(select(WorkspaceAdmin.user_id).where(WorkspaceAdmin.team_id == team_id)))


def language_override(session: Session, team_id: str, user_id: str) -> str | None:
    preference = session.get(PersonPreference, (team_id, user_id))
    return preference.language if preference else None


def preferences(session: Session, team_id: str, choice: str) -> dict[str, str]:
    """Everyone's own `language` or `department` in a workspace, for a round's many recipients at once."""
    column = getattr(PersonPreference, choice)
    rows = session.execute(
        select(PersonPreference.user_id, column).where(
            PersonPreference.team_id == team_id, column.is_not(None)
        )
    )
    return {user_id: value for user_id, value in rows}


def time_preferences(session: Session) -> dict[str, tuple[dict[str, str], dict[str, date]]]:
    """Per workspace: each person's own holiday calendar, and the date they are away until."""
    chosen: dict[str, tuple[dict[str, str], dict[str, date]]] = {}
    rows = session.execute(
        select(
            PersonPreference.team_id,
            PersonPreference.user_id,
            PersonPreference.holiday_calendar,
            PersonPreference.away_until,
        ).where(or_(PersonPreference.holiday_calendar.is_not(None), PersonPreference.away_until.is_not(None)))
    )
    for team_id, user_id, calendar, away_until in rows:
        calendars, away = chosen.setdefault(team_id, ({}, {}))
        if calendar:
            calendars[user_id] = calendar
        if away_until:
            away[user_id] = away_until
    return chosen


def set_time_preference(
    session: Session, team_id: str, user_id: str, now: datetime, **choice: object
) -> None:
    """A person's own `holiday_calendar` or `away_until` (None clears it)."""
    preference = session.get(PersonPreference, (team_id, user_id), with_for_update=True)
    if preference is None:
        session.add(PersonPreference(team_id=team_id, user_id=user_id, updated_at=now, **choice))
        return
    for name, value in choice.items():
        setattr(preference, name, value)
    preference.updated_at = now


def set_language(session: Session, team_id: str, user_id: str, language: str, now: datetime) -> None:
    preference = session.get(PersonPreference, (team_id, user_id), with_for_update=True)
    if preference is None:
        session.add(PersonPreference(team_id=team_id, user_id=user_id, language=language, updated_at=now))
    else:
        preference.language = language
        preference.updated_at = now


def set_department(session: Session, team_id: str, user_id: str, department: str, now: datetime) -> None:
    preference = session.get(PersonPreference, (team_id, user_id), with_for_update=True)
    if preference is None:
        session.add(PersonPreference(team_id=team_id, user_id=user_id, department=department, updated_at=now))
    else:
        preference.department = department
        preference.updated_at = now


def set_uninstalled(session: Session, team_id: str, when: datetime | None) -> None:
    """Record that a workspace uninstalled the app (`when`), or installed it again (None)."""
    session.execute(update(Workspace).where(Workspace.team_id == team_id).values(uninstalled_at=when))


def claim_request(session: Session, team_id: str, request_key: str, now: datetime) -> bool:
    """True the first time a request key (an event id, a submitted view) is seen; repeats get False."""
    return bool(claim_requests(session, [(team_id, request_key)], now))


def claim_requests(session: Session, keys: Iterable[tuple[str, str]], now: datetime) -> set[tuple[str, str]]:
    """`claim_request` for many (workspace, request key) pairs in one statement: those seen for the
    first time. By the database's own uniqueness, as `insert_once`, so two processes racing on a key
    cannot both win."""
    rows = [{"team_id": team, "request_key": key, "received_at": now} for team, key in dict.fromkeys(keys)]
    if not rows:
        return set()
    statement = _insert_once(session.get_bind().dialect.name, HandledRequest)
    return {(team, key) for team, key in session.connection().execute(statement, rows)}


def forget_requests(session: Session, team_id: str, received_before: datetime, limit: int) -> int:
    """Delete up to `limit` of a workspace's request keys received before `received_before`; how many."""
    key = tuple_(HandledRequest.team_id, HandledRequest.request_key)
    oldest = (
        select(HandledRequest.team_id, HandledRequest.request_key)
        .where(HandledRequest.team_id == team_id, HandledRequest.received_at < received_before)
        .limit(limit)
        .with_for_update(skip_locked=True)  # two replicas forgetting at once take different rows
    )
    return session.execute(delete(HandledRequest).where(key.in_(oldest))).rowcount
