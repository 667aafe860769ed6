"""The tables. Every row carries the Slack workspace (team id) it belongs to."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Integer, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


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
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HandledRequest(Base):
    """Requests from Slack already acted on: a retried event or a resubmitted modal finds its key here."""

    __tablename__ = "handled_requests"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
