"""The tables. Every row carries the Slack workspace (team id) it belongs to."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
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

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: The life of anything the bot posts (deliveries, channel posts, reminders, digest posts).
PENDING, SENDING, SENT, FAILED, IN_CHANNEL = "pending", "sending", "sent", "failed", "in_channel"


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


class PersonPreference(Base):
    """What a person chose for themselves (their language), per workspace."""

    __tablename__ = "person_preferences"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    department: Mapped[str | None] = mapped_column(String(16))
    """Chosen by people who are in both a sales and a marketing channel."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HandledRequest(Base):
    """Requests from Slack already acted on: a retried event or a resubmitted modal finds its key here."""

    __tablename__ = "handled_requests"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Cadence(Base):
    """A recurring pulse: who is asked, when (local time in an IANA zone), and how."""

    __tablename__ = "cadences"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    audience_channels: Mapped[list[str]] = mapped_column(JSON)
    """Empty: the sales and marketing channels from setup."""
    recurrence_kind: Mapped[str] = mapped_column(String(16))
    weekdays: Mapped[list[int]] = mapped_column(JSON)
    interval_weeks: Mapped[int] = mapped_column(Integer)
    nth: Mapped[int | None] = mapped_column(Integer)
    weekday: Mapped[int | None] = mapped_column(Integer)
    local_time: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date] = mapped_column(Date)
    skip_dates: Mapped[list[str]] = mapped_column(JSON)
    skip_weekends: Mapped[bool] = mapped_column(Boolean)
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
