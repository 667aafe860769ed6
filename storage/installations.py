"""Slack's OAuth installations as the runners need them, and what uninstalling does to a workspace's work.

slack_sdk's store (see `bot.slack.installations`) writes the installation rows and finds them by Enterprise
Grid id and team id together; a runner knows only the team id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.orm import Session

from storage.models import (
    SLACK_BOTS,
    SLACK_INSTALLATIONS,
    SLACK_OAUTH_STATES,
    Base,
    ChannelPost,
    Delivery,
    DigestPost,
    MeetingCheckDelivery,
    MeetingReminder,
    PostStatus,
    PulseRound,
)
from storage.pulses import OPEN, SKIPPED
from storage.workspaces import set_uninstalled

#: Why what a workspace was still to get was dropped (a post's `error`, a round's `skip_reason`).
APP_UNINSTALLED = "app_uninstalled"
#: The first key of the advisory lock held while a workspace's token is refreshed ("tokn").
TOKEN_REFRESH_LOCK = 0x746F6B6E
#: At most this many expired install states are deleted each time a state is issued: about as many
#: expire between two issued states as were issued in that time ten minutes earlier, so the table holds
#: the states of the last INSTALL_STATE_SECONDS however fast /slack/install is called, and no request
#: waits on a long delete.
EXPIRED_STATES_PURGED_PER_ISSUE = 1000
_ADVISORY = "SELECT pg_advisory_{}(CAST(:namespace AS integer), hashtext(:team_id))"


class InstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's store on our own tables, whose tokens are encrypted (see `storage.secrets`): it would
    otherwise read and write tables of its own building, with the tokens in plain text."""

    def __init__(self, client_id: str, engine: Engine) -> None:
        super().__init__(
            client_id, engine, bots_table_name=SLACK_BOTS, installations_table_name=SLACK_INSTALLATIONS
        )
        self.metadata = Base.metadata
        self.bots = Base.metadata.tables[SLACK_BOTS]
        self.installations = Base.metadata.tables[SLACK_INSTALLATIONS]


def latest_installation(engine: Engine, client_id: str, team_id: str) -> Installation | None:
    """The newest installation of the app (`client_id`) in a workspace, or None if it has none."""
    installations = Base.metadata.tables[SLACK_INSTALLATIONS]
    query = (
        select(installations)
        .where(installations.c.client_id == client_id, installations.c.team_id == team_id)
        .order_by(installations.c.installed_at.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    if row is None:
        return None
    # slack_sdk stores its times as naive UTC and would read them back as the server's local time.
    utc = {
        key: value.replace(tzinfo=UTC) if isinstance(value, datetime) else value for key, value in row.items()
    }
    return SQLAlchemyInstallationStore.build_installation_entity(utc)


def issue_state(engine: Engine, state: str, now: datetime, expires_at: datetime) -> None:
    """Store a new install state, and delete a batch of expired ones, which nothing else would. Rows
    another replica is deleting meanwhile are skipped (PostgreSQL), so a flood never waits on a lock."""
    states = Base.metadata.tables[SLACK_OAUTH_STATES]
    expired = (
        select(states.c.id)
        .where(states.c.expire_at <= _naive_utc(now))
        .limit(EXPIRED_STATES_PURGED_PER_ISSUE)
        .with_for_update(skip_locked=True)
    )
    with engine.begin() as connection:
        connection.execute(delete(states).where(states.c.id.in_(expired)))
        connection.execute(insert(states).values(state=state, expire_at=_naive_utc(expires_at)))


def consume_state(engine: Engine, state: str, now: datetime) -> bool:
    """Whether `state` was issued and has not expired nor been used: one callback uses it, even when
    two arrive at once."""
    states = Base.metadata.tables[SLACK_OAUTH_STATES]
    with engine.begin() as connection:
        used = connection.execute(
            delete(states).where(states.c.state == state, states.c.expire_at > _naive_utc(now))
        )
    return used.rowcount == 1


def _naive_utc(moment: datetime) -> datetime:
    """slack_sdk's tables store times as naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


@contextmanager
def token_refresh_lock(engine: Engine, team_id: str) -> Iterator[None]:
    """Held while a workspace's bot token is refreshed, so one process uses its refresh token: Slack
    revokes a refresh token once used. On PostgreSQL an advisory lock across replicas; SQLite has one
    process per database, whose own lock is enough."""
    if engine.dialect.name != "postgresql":
        yield
        return
    key = {"namespace": TOKEN_REFRESH_LOCK, "team_id": team_id}
    with engine.connect() as connection:
        connection.execute(text(_ADVISORY.format("lock")), key)
        try:
            yield
        finally:
            connection.execute(text(_ADVISORY.format("unlock")), key)
            connection.commit()


def uninstalled(session: Session, team_id: str, now: datetime) -> None:
    """The app left the workspace: the runners skip it from now on (see `storage.workspaces.installed`),
    and what it was still to get is dropped, so a reinstall does not deliver it late: posts waiting to
    go are `failed` and rounds not yet sent are skipped, each with the reason `app_uninstalled`."""
    set_uninstalled(session, team_id, now)
    for model in (Delivery, ChannelPost, DigestPost, MeetingReminder, MeetingCheckDelivery):
        session.execute(
            update(model)
            .where(model.team_id == team_id, model.status == PostStatus.PENDING)
            .values(status=PostStatus.FAILED, error=APP_UNINSTALLED)
        )
    session.execute(
        update(PulseRound)
        .where(PulseRound.team_id == team_id, PulseRound.status == OPEN, PulseRound.audience_size.is_(None))
        .values(status=SKIPPED, skip_reason=APP_UNINSTALLED)
    )
