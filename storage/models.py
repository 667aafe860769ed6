"""The tables. Every row carries the Slack workspace (team id) it belongs to."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from enum import StrEnum

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.domain import schedule
from storage.secrets import EncryptedString, encrypt_columns

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class PostStatus(StrEnum):
    """The life of anything the bot posts (deliveries, channel posts, reminders, digest posts, meeting
    reminders and checks), stored as its string: `pending` → `sending` (claimed) → `sent` or `failed`."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    IN_CHANNEL = "in_channel"
    """A delivery in channel mode: the person reads the round's post in a channel, not a DM."""
    SUPERSEDED = "superseded"
    """A pulse reminder that never went out because a later one fell due with it."""
    DROPPED = "dropped"
    """A meeting's post that did not go out: the meeting began, or was skipped, paused or removed, first."""
    REFUSED = "refused"
    """A digest post Slack refused for good, until a process claims telling the admins."""
    NOTIFYING = "notifying"
    """A refused digest post whose admins are being told (since `claimed_at`); then `failed`."""
    AWAY = "away"
    """A delivery held back while its person is away (leave, out of office); `pending` if they come back
    while the round is open. Not asked, so not a non-responder."""
    HOLIDAY = "holiday"
    """A delivery never sent: the round's date is a public holiday in its person's calendar."""
    HELD_BACK = "held_back"
    """A meeting's usefulness question waiting until the meeting is confirmed as held (then `pending`)."""


UNCONFIRMED = "unconfirmed"
"""The `error` of a post `failed` because no look-up could say for an hour whether Slack had it: given
up and reported (on the admins' Home), never sent twice."""

UNKNOWN_DEPARTMENT = "unknown"
"""`RoundAggregate.department` for people who never chose one (a key column cannot be NULL)."""


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC and always hands back aware datetimes, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Workspace(Base):
    """One Slack workspace and the configuration its admins chose with `/align setup`."""

    __tablename__ = "workspaces"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    default_language: Mapped[str] = mapped_column(String(8))
    anonymity_threshold: Mapped[int] = mapped_column(Integer)
    leadership_channel_id: Mapped[str | None] = mapped_column(String(32))
    configured_by: Mapped[str] = mapped_column(String(32))
    configured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the app was uninstalled, or its bot token revoked: nothing is sent until it is installed again."""

    channels: Mapped[list[DepartmentChannel]] = relationship(
        cascade="all, delete-orphan", order_by="DepartmentChannel.channel_id"
    )
    admins: Mapped[list[WorkspaceAdmin]] = relationship(
        cascade="all, delete-orphan", order_by="WorkspaceAdmin.user_id"
    )


class DepartmentChannel(Base):
    """A channel whose members belong to one department (sales or marketing)."""

    __tablename__ = "department_channels"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.team_id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    department: Mapped[str] = mapped_column(String(16))


class WorkspaceAdmin(Base):
    """A person given admin rights in the bot on top of Slack's own admins and owners."""

    __tablename__ = "workspace_admins"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.team_id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class ThresholdChange(Base):
    """An admin saved a new anonymity threshold: figures read at an instant use the one in force
    then, so a change applies from the next snapshot (see `bot.domain.snapshot`)."""

    __tablename__ = "threshold_changes"
    __table_args__ = (Index("ix_threshold_changes_team_changed", "team_id", "changed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"))
    old_threshold: Mapped[int | None] = mapped_column(Integer)
    """None at the first setup."""
    new_threshold: Mapped[int] = mapped_column(Integer)
    changed_by: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PersonPreference(Base):
    """What a person chose for themselves (their language), per workspace."""

    __tablename__ = "person_preferences"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    department: Mapped[str | None] = mapped_column(String(16))
    """Chosen by people who are in both a sales and a marketing channel."""
    holiday_calendar: Mapped[str | None] = mapped_column(String(16))
    """`/align holidays IR`: their own public holidays (and weekend), instead of the pulse's."""
    away_until: Mapped[date | None] = mapped_column(Date)
    """`/align away until`: away up to and including this date in their own timezone."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HandledRequest(Base):
    """Requests from Slack already acted on: a retried event or a resubmitted modal finds its key here."""

    __tablename__ = "handled_requests"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecurrenceColumns:
    """The columns of a `schedule.Recurrence`, so pulses and meetings store their schedules one way."""

    recurrence_kind: Mapped[str] = mapped_column(String(16))
    weekdays: Mapped[list[int]] = mapped_column(JSON)
    interval_weeks: Mapped[int] = mapped_column(Integer)
    nth: Mapped[int | None] = mapped_column(Integer)
    weekday: Mapped[int | None] = mapped_column(Integer)
    local_time: Mapped[str] = mapped_column(String(5))
    """Wall-clock "HH:MM" in `timezone`."""
    timezone: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date] = mapped_column(Date)
    skip_dates: Mapped[list[str]] = mapped_column(JSON)
    """YYYY-MM-DD, in order."""
    skip_weekends: Mapped[bool] = mapped_column(Boolean)

    def recurrence(self) -> schedule.Recurrence:
        hours, minutes = (int(part) for part in self.local_time.split(":"))
        return schedule.Recurrence(
            kind=self.recurrence_kind,
            local_time=time(hours, minutes),
            timezone=self.timezone,
            start=self.start_date,
            weekdays=frozenset(self.weekdays),
            interval_weeks=self.interval_weeks,
            nth=self.nth,
            weekday=self.weekday,
            skip_dates=frozenset(date.fromisoformat(d) for d in self.skip_dates),
            skip_weekends=self.skip_weekends,
        )

    def set_recurrence(self, recurrence: schedule.Recurrence) -> None:
        if recurrence.end is not None:
            raise ValueError(f"{type(self).__name__} has no end date to store {recurrence.end} in")
        self._set_rule(recurrence)

    def _set_rule(self, recurrence: schedule.Recurrence) -> None:
        self.recurrence_kind = recurrence.kind
        self.weekdays = sorted(recurrence.weekdays)
        self.interval_weeks = recurrence.interval_weeks
        self.nth = recurrence.nth
        self.weekday = recurrence.weekday
        self.local_time = recurrence.local_time.strftime("%H:%M")
        self.timezone = recurrence.timezone
        self.start_date = recurrence.start
        self.skip_dates = sorted(d.isoformat() for d in recurrence.skip_dates)
        self.skip_weekends = recurrence.skip_weekends


class EndingRecurrenceColumns(RecurrenceColumns):
    """A recurrence that may have a last date (meetings; a pulse runs until it is removed)."""

    end_date: Mapped[date | None] = mapped_column(Date)

    def recurrence(self) -> schedule.Recurrence:
        return replace(super().recurrence(), end=self.end_date)

    def set_recurrence(self, recurrence: schedule.Recurrence) -> None:
        self._set_rule(recurrence)
        self.end_date = recurrence.end


class Cadence(RecurrenceColumns, Base):
    """A recurring pulse: who is asked, when (local time in an IANA zone), and how."""

    __tablename__ = "cadences"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    audience_channels: Mapped[list[str]] = mapped_column(JSON)
    """Empty: the sales and marketing channels from setup."""
    kind: Mapped[str] = mapped_column(String(16), server_default="pulse")
    """`pulse`: a few rotating statements a round; `baseline`: every scored statement, once."""
    items_per_round: Mapped[int] = mapped_column(Integer)
    answer_window_hours: Mapped[int] = mapped_column(Integer)
    reminders: Mapped[int] = mapped_column(Integer)
    reminder_spacing_hours: Mapped[int] = mapped_column(Integer)
    delivery: Mapped[str] = mapped_column(String(16))
    include_guests: Mapped[bool] = mapped_column(Boolean)
    paused: Mapped[bool] = mapped_column(Boolean)
    skip_occurrence: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """`skip-next`: this one scheduled instant is recorded as skipped instead of sent."""
    planned_until: Mapped[datetime] = mapped_column(UTCDateTime())
    """Every occurrence up to this instant has become a round or a recorded skip."""
    seed: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    each_persons_time: Mapped[bool] = mapped_column(Boolean)
    """The local time is each person's own (`schedule.Recurrence.each_persons_time`)."""
    quiet_hours: Mapped[bool] = mapped_column(Boolean)
    """No DM in a person's night or weekend (`bot.domain.quiet_hours`)."""
    holiday_calendars: Mapped[list[str]] = mapped_column(JSON)
    """Public-holiday calendars (`IR`, `DE-BY`) whose holidays skip a round for the people they cover."""
    team_holiday_calendars: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    """A team's own calendars instead of `holiday_calendars` (`{"sales": ["IR"]}`; a team left out
    keeps the cadence's)."""

    def recurrence(self) -> schedule.Recurrence:
        return replace(super().recurrence(), each_persons_time=self.each_persons_time)

    def _set_rule(self, recurrence: schedule.Recurrence) -> None:
        super()._set_rule(recurrence)
        self.each_persons_time = recurrence.each_persons_time


class PulseRound(Base):
    """One sending of a cadence; unique per (cadence, occurrence), so it happens once."""

    __tablename__ = "pulse_rounds"
    __table_args__ = (UniqueConstraint("cadence_id", "occurrence_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    cadence_id: Mapped[int] = mapped_column(ForeignKey("cadences.id", ondelete="CASCADE"))
    occurrence_key: Mapped[str] = mapped_column(String(64))
    """The scheduled instant (ISO, UTC), or `now:<request>` for a round started by hand."""
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    """`open`, `closed`, or `skipped` (with `skip_reason`)."""
    skip_reason: Mapped[str | None] = mapped_column(String(32))
    item_ids: Mapped[list[str]] = mapped_column(JSON)
    delivery: Mapped[str] = mapped_column(String(16))
    audience_size: Mapped[int | None] = mapped_column(Integer)
    """None until the recipients are written down (in the same transaction as their deliveries)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When retention replaced the round's answers, comments and deliveries by `RoundAggregate` counts."""


class RoundAggregate(Base):
    """What retention keeps of an expired round: per department and statement, how many gave each
    rating. No person is in it; `department` is `UNKNOWN_DEPARTMENT` for people without one."""

    __tablename__ = "round_aggregates"

    round_id: Mapped[int] = mapped_column(ForeignKey("pulse_rounds.id", ondelete="CASCADE"), primary_key=True)
    department: Mapped[str] = mapped_column(String(16), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    ratings: Mapped[list[int]] = mapped_column(JSON)
    """How many 1s … 5s; each person rates a statement once per round, so their sum is the people."""


class RollupPerson(Base):
    """A closed round's answers by one person, in one row, written when it closes (`storage.rollups`):
    what the digest, the preview and the trend read instead of the answers: a row per person and round,
    not one per statement.

    Internal like `Answer`, and erased with the answers (retention, forget-me): the figures' people
    counts and interval need each person's ratings, so the row keeps them, but no surface shows one.
    `department` is `UNKNOWN_DEPARTMENT` for people without one.
    """

    __tablename__ = "rollup_people"
    __table_args__ = (Index("ix_rollup_people_team_user", "team_id", "user_id"),)

    round_id: Mapped[int] = mapped_column(ForeignKey("pulse_rounds.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    department: Mapped[str] = mapped_column(String(16), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    scores: Mapped[str] = mapped_column(Text)
    """One digit per statement of the round, in `PulseRound.item_ids` order: the rating, 1–5, or 0
    where they gave none."""


class ChannelPost(Base):
    """In channel mode, the one shared post of a round in each audience channel."""

    __tablename__ = "pulse_channel_posts"

    round_id: Mapped[int] = mapped_column(ForeignKey("pulse_rounds.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    """`pending` → `sending` → `sent`, or `failed`, as for deliveries."""
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(64))


class Delivery(Base):
    """One person's copy of a round; unique per (round, person)."""

    __tablename__ = "pulse_deliveries"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id"),
        Index("ix_pulse_deliveries_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    round_id: Mapped[int] = mapped_column(ForeignKey("pulse_rounds.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(String(16))
    needs_department: Mapped[bool] = mapped_column(Boolean)
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    """`pending` → `sending` → `sent`, or `failed` (with Slack's `error`); `in_channel` in channel mode."""
    attempts: Mapped[int] = mapped_column(Integer)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_notice: Mapped[bool] = mapped_column(Boolean)
    """Whether the DM was updated to say the round closed."""
    timezone: Mapped[str | None] = mapped_column(String(64))
    """The person's zone when the round was planned (their Slack profile's, or the workspace's)."""
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the copy may go (their own local time, out of quiet hours); None: at once."""
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the person's own answer window ends; None: when the round closes."""
    reminders_at: Mapped[list[str | None] | None] = mapped_column(JSON)
    """Reminder n's instant (ISO) at index n-1, or None where quiet hours dropped it; None: the cadence's."""


class Answer(Base):
    """A person's rating of one statement in one round; tapping again updates it."""

    __tablename__ = "pulse_answers"

    round_id: Mapped[int] = mapped_column(ForeignKey("pulse_rounds.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    department: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Comment(Base):
    """The optional free-text comment of a person on a round."""

    __tablename__ = "pulse_comments"

    round_id: Mapped[int] = mapped_column(ForeignKey("pulse_rounds.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    department: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Reminder(Base):
    """Reminder number n of a delivery; the key makes each one go out once."""

    __tablename__ = "pulse_reminders"

    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("pulse_deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    """`sending` → `sent`, or `failed`; a stale `sending` is checked against the DM's history."""
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    message_ts: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(64))
    """Why it failed (Slack's error, or `unconfirmed`: see `UNCONFIRMED`)."""


class CustomItem(Base):
    """A statement an admin added to the bank, mapped to a dimension."""

    __tablename__ = "custom_items"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.team_id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(32))
    text_en: Mapped[str | None] = mapped_column(String(200))
    text_fa: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DisabledItem(Base):
    """A bank or custom statement an admin switched off for the workspace."""

    __tablename__ = "disabled_items"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.team_id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class DigestSettings(Base):
    """When and where a workspace's weekly leadership digest goes."""

    __tablename__ = "digest_settings"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.team_id", ondelete="CASCADE"), primary_key=True
    )
    weekday: Mapped[int] = mapped_column(Integer)
    local_time: Mapped[str] = mapped_column(String(5))
    to_channel: Mapped[bool] = mapped_column(Boolean)
    leaders: Mapped[list[str]] = mapped_column(JSON)
    """People who also get it by DM."""
    window_weeks: Mapped[int] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean)
    planned_until: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Digest(Base):
    """One week's digest of a workspace; unique per (workspace, week), so it goes out once."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("team_id", "week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    week: Mapped[date] = mapped_column(Date)
    """The Monday of the digest's week, in the workspace's zone."""
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stage: Mapped[str | None] = mapped_column(String(16))
    """The settled stage it reported, which next week's stage is settled against."""
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DigestPost(Base):
    """Where a digest went (the leadership channel, a leader's DM); each goes out once."""

    __tablename__ = "digest_posts"

    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(32), primary_key=True)
    """A channel id, or a user id for a DM."""
    team_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel_id: Mapped[str | None] = mapped_column(String(32))
    """Where the message landed (a DM's id for a person), so the chart can follow in its thread."""
    message_ts: Mapped[str | None] = mapped_column(String(32))
    file_id: Mapped[str | None] = mapped_column(String(32))
    """The pictures in its thread: the trend chart's and the heatmap's file ids, space-separated; `none`
    when Slack refused them."""
    error: Mapped[str | None] = mapped_column(String(64))


class NudgeState(Base):
    """What leaders did with a nudge: acted on (with a note), or snoozed until a date."""

    __tablename__ = "nudge_states"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.team_id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    """`in_progress` (acted on) or `snoozed`."""
    note: Mapped[str | None] = mapped_column(Text)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ActionItem(Base):
    """A leader took on a nudge: what they will do, who owns it, by when, and whether it was done.

    One per modal submission (`request_key`, unique per workspace), so a resubmitted modal adds none.
    `dimension` and `baseline` (the figures shown when it was taken) let later digests follow it up.
    """

    __tablename__ = "action_items"
    __table_args__ = (
        UniqueConstraint("team_id", "request_key"),
        Index("ix_action_items_team_status", "team_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"))
    request_key: Mapped[str] = mapped_column(String(128))
    nudge_key: Mapped[str] = mapped_column(String(96))
    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(32))
    due: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    """`open`, `done` or `dropped`."""
    dimension: Mapped[str | None] = mapped_column(String(32))
    baseline: Mapped[dict] = mapped_column(JSON)
    """Group → the figure shown for the nudge's topic when it was taken (a shown mean or score only)."""
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Meeting(EndingRecurrenceColumns, Base):
    """A joint sales–marketing meeting series: when it meets (local time in an IANA zone), where both
    teams are reminded, and how long before."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("team_id", "title"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    """The .ics UID: the same for the life of the series, so a calendar updates instead of duplicating."""
    title: Mapped[str] = mapped_column(String(150))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    channels: Mapped[list[str]] = mapped_column(JSON)
    reminder_offsets: Mapped[list[int]] = mapped_column(JSON)
    """Minutes before the start, largest first."""
    link: Mapped[str | None] = mapped_column(String(500))
    owner: Mapped[str | None] = mapped_column(String(32))
    paused: Mapped[bool] = mapped_column(Boolean)
    planned_until: Mapped[datetime] = mapped_column(UTCDateTime())
    """Every reminder and usefulness check due up to this instant is planned (or was dropped)."""
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MeetingSkip(Base):
    """One date of a series called off (`/align meeting skip-next`): no reminders, no check."""

    __tablename__ = "meeting_skips"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    occurrence_date: Mapped[date] = mapped_column(Date, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    skipped_by: Mapped[str] = mapped_column(String(32))
    skipped_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MeetingAgendaItem(Base):
    """A point an admin added to the agenda of one meeting."""

    __tablename__ = "meeting_agenda_items"
    __table_args__ = (Index("ix_meeting_agenda_items_occurrence", "meeting_id", "occurrence_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    occurrence_date: Mapped[date] = mapped_column(Date)
    team_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MeetingReminder(Base):
    """One reminder post: unique per (meeting, date, offset, channel), so each goes out once."""

    __tablename__ = "meeting_reminders"
    __table_args__ = (
        UniqueConstraint("meeting_id", "occurrence_date", "offset_minutes", "channel_id"),
        Index("ix_meeting_reminders_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    occurrence_date: Mapped[date] = mapped_column(Date)
    offset_minutes: Mapped[int] = mapped_column(Integer)
    channel_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(String(32))
    occurrence_at: Mapped[datetime] = mapped_column(UTCDateTime())
    language: Mapped[str] = mapped_column(String(8))
    joint_activity: Mapped[str] = mapped_column(String(32))
    """Chosen when the first reminder of the meeting is planned, so every reminder of it agrees."""
    agenda: Mapped[dict | None] = mapped_column(JSON)
    """The agenda as posted (set when claimed), so updating the RSVP counts leaves it as people read it."""
    status: Mapped[str] = mapped_column(String(16))
    """`pending` → `sending` → `sent`, `failed` (with Slack's `error`), or `dropped` (the meeting began,
    was skipped, paused or removed before it went out)."""
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_ts: Mapped[str | None] = mapped_column(String(32))
    file_id: Mapped[str | None] = mapped_column(String(32))
    """The .ics in the post's thread: None until tried, then the file id, `uploading` or `none`."""
    error: Mapped[str | None] = mapped_column(String(64))


class MeetingRsvp(Base):
    """A person's answer to one meeting; tapping again (or a retried tap) updates the same row."""

    __tablename__ = "meeting_rsvps"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    occurrence_date: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    answer: Mapped[str] = mapped_column(String(16))
    """`going` or `not_going`."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MeetingCheck(Base):
    """The "was it useful?" check of one meeting, once its check fell due: one per (meeting, date).

    Its existence means the meeting was planned (adherence). Its `confirmer` (the owner, or the first
    person asked) says whether it took place; only a meeting confirmed as held counts as held, and
    only then do the others get the usefulness question.
    """

    __tablename__ = "meeting_checks"
    __table_args__ = (UniqueConstraint("meeting_id", "occurrence_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    occurrence_date: Mapped[date] = mapped_column(Date)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    item_id: Mapped[str] = mapped_column(String(32))
    """The bank statement its ratings count as, in the joint meetings dimension."""
    occurrence_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    audience_size: Mapped[int | None] = mapped_column(Integer)
    """None until the people asked are written down (with their rows, in one transaction)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmer: Mapped[str | None] = mapped_column(String(32))
    held: Mapped[bool | None] = mapped_column(Boolean)
    """None until the confirmer answers."""
    held_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MeetingCheckDelivery(Base):
    """One person's check DM and their answer; unique per (check, person), so it is sent once."""

    __tablename__ = "meeting_check_deliveries"
    __table_args__ = (Index("ix_meeting_check_deliveries_status", "status"),)

    check_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_checks.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    """`pending` → `sending` → `sent`, or `failed`, as for pulse deliveries."""
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[int | None] = mapped_column(Integer)
    """1–5; tapping again replaces it."""
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    comment: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the DM may go: out of the person's quiet hours (their night or weekend); None: at once."""
    """The answer to "what should change?", kept without ever being shown with a name."""


# Slack's OAuth installations (bot tokens, refresh tokens) and install states, in slack_sdk's own table
# layouts: its stores read and write them (see `bot.slack.installations`); our migrations create them.
# The tokens are stored encrypted (see `storage.secrets`).
SLACK_INSTALLATIONS = "slack_installations"
SLACK_BOTS = "slack_bots"
SLACK_OAUTH_STATES = "slack_oauth_states"
BOT_TOKENS = ("bot_token", "bot_refresh_token")
USER_TOKENS = ("user_token", "user_refresh_token")
encrypt_columns(
    SQLAlchemyInstallationStore.build_installations_table(Base.metadata, SLACK_INSTALLATIONS),
    *BOT_TOKENS,
    *USER_TOKENS,
)
encrypt_columns(SQLAlchemyInstallationStore.build_bots_table(Base.metadata, SLACK_BOTS), *BOT_TOKENS)
SQLAlchemyOAuthStateStore.build_oauth_states_table(Base.metadata, SLACK_OAUTH_STATES)


class PipelineLead(Base):
    """A lead from a CRM export or sync (see bot/domain/pipeline.py); `owner` is opaque, never a name."""

    __tablename__ = "pipeline_leads"
    __table_args__ = (UniqueConstraint("team_id", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"))
    record_id: Mapped[str] = mapped_column(String(128))
    owner: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mql_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision: Mapped[str | None] = mapped_column(String(16))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    sql_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_touch_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PipelineDeal(Base):
    """A deal (opportunity); amounts in hundredths of the currency unit, exact on both stores."""

    __tablename__ = "pipeline_deals"
    __table_args__ = (UniqueConstraint("team_id", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"))
    record_id: Mapped[str] = mapped_column(String(128))
    owner: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    stage: Mapped[str | None] = mapped_column(String(255))
    close_date: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str | None] = mapped_column(String(16))


class PipelineConnection(Base):
    """A CRM the workspace's pipeline is synced from daily (HubSpot), with its access token."""

    __tablename__ = "pipeline_connections"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.team_id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(EncryptedString())
    """Encrypted at rest with the Slack tokens' keys (`ALIGNBOT_SECRET_KEYS`, storage/secrets.py)."""
    connected_by: Mapped[str] = mapped_column(String(32))
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """The last sync tried; the next is due a day later."""
    last_error: Mapped[str | None] = mapped_column(String(64))


class PipelineForecast(Base):
    """The forecast for one period and, once known, what actually closed."""

    __tablename__ = "pipeline_forecasts"
    __table_args__ = (UniqueConstraint("team_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(16))
    forecast_cents: Mapped[int] = mapped_column(BigInteger)
    actual_cents: Mapped[int | None] = mapped_column(BigInteger)


class PipelineMapping(Base):
    """Which column of a CRM export holds each field, as an admin chose it for a file whose headers
    were not recognised; found again by the fingerprint of the header row
    (bot/domain/pipeline_mapping.py), so the next file with the same columns imports directly."""

    __tablename__ = "pipeline_mappings"
    __table_args__ = (UniqueConstraint("team_id", "kind", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(32))
    columns: Mapped[dict[str, str]] = mapped_column(JSON)
    """Field → the header of its column, as written in the file."""
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
