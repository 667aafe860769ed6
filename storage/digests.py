"""Persistence of digests: the stage each one reported (next week's stage is settled against it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from storage.models import (
    Digest,
    DigestPost,
    DigestSettings,
    NudgeState,
    PostStatus,
    Workspace,
)
from storage.workspaces import configured_admins, insert_once, installed

#: Failed posts the admins' Home tab lists, at most.
MAX_FAILURES_SHOWN = 10
#: `DigestPost.file_id` once Slack refused the pictures: they are not tried again.
NO_PICTURES = "none"


class FailedPost(NamedTuple):
    """A post of a digest that Slack refused, as the admins' Home tab lists it."""

    week: date
    destination: str
    error: str


def previous_stage(session: Session, team_id: str, before: datetime) -> str | None:
    """The stage reported by the last digest scheduled before `before`."""
    return session.scalar(
        select(Digest.stage)
        .where(Digest.team_id == team_id, Digest.scheduled_at < before, Digest.stage.is_not(None))
        .order_by(Digest.scheduled_at.desc())
        .limit(1)
    )


def quiet_nudges(session: Session, team_id: str, now: datetime) -> set[str]:
    """Nudges not to repeat: acted on (in progress), or snoozed until a later date."""
    rows = session.execute(
        select(NudgeState.key, NudgeState.status, NudgeState.until).where(NudgeState.team_id == team_id)
    )
    return {
        key for key, status, until in rows if status == "in_progress" or (until is not None and until > now)
    }


def settings_of(session: Session, team_id: str) -> DigestSettings | None:
    return session.get(DigestSettings, team_id)


def ensure_settings(session: Session, team_id: str, now: datetime) -> DigestSettings:
    """The workspace's digest settings, created with the defaults the first time: Mondays at 09:00
    in the workspace's zone, to the leadership channel."""
    settings = session.get(DigestSettings, team_id)
    if settings is None:
        settings = DigestSettings(
            team_id=team_id,
            weekday=0,
            local_time="09:00",
            to_channel=True,
            leaders=[],
            window_weeks=8,
            paused=False,
            planned_until=now,
            updated_at=now,
        )
        session.add(settings)
    return settings


def active_settings(session: Session) -> list[DigestSettings]:
    return list(
        session.scalars(
            select(DigestSettings).where(DigestSettings.paused.is_(False), installed(DigestSettings))
        )
    )


def add_digest(
    session: Session, team_id: str, week: date, scheduled_at: datetime, stage: str | None, now: datetime
) -> Digest | None:
    """The week's digest, or None when that week already has one (another process made it)."""
    if not insert_once(
        session,
        Digest,
        team_id=team_id,
        week=week,
        scheduled_at=scheduled_at,
        stage=stage,
        status="open",
        created_at=now,
    ):
        return None
    return session.scalars(select(Digest).where(Digest.team_id == team_id, Digest.week == week)).one()


def add_posts(session: Session, digest: Digest, destinations: list[str]) -> None:
    for destination in dict.fromkeys(destinations):
        insert_once(
            session,
            DigestPost,
            digest_id=digest.id,
            destination=destination,
            team_id=digest.team_id,
            status=PostStatus.PENDING,
        )


def posts_without_chart(session: Session) -> list[DigestPost]:
    return list(
        session.scalars(
            select(DigestPost).where(
                DigestPost.status == PostStatus.SENT,
                DigestPost.file_id.is_(None),
                DigestPost.message_ts.is_not(None),
                installed(DigestPost),
            )
        )
    )


def claim_refused_posts(
    session: Session, now: datetime, stale_before: datetime
) -> list[tuple[DigestPost, datetime | None]]:
    """Refused posts whose admins are still to be told, each won by one conditional update.

    With each, since when to look in the admins' DMs for a notice already sent: None for a
    fresh one; for one whose telling began before `stale_before` and never ended (the process
    stopped), the time it began.
    """
    stale = and_(DigestPost.status == PostStatus.NOTIFYING, DigestPost.claimed_at < stale_before)
    claimed = []
    refused = select(DigestPost).where(
        or_(DigestPost.status == PostStatus.REFUSED, stale), installed(DigestPost)
    )
    for post in session.scalars(refused).all():
        since = post.claimed_at if post.status == PostStatus.NOTIFYING else None
        won = session.execute(
            update(DigestPost)
            .where(
                DigestPost.digest_id == post.digest_id,
                DigestPost.destination == post.destination,
                (DigestPost.status == PostStatus.REFUSED) if since is None else stale,
            )
            .values(status=PostStatus.NOTIFYING, claimed_at=now)
            .returning(DigestPost.digest_id)
        ).first()
        if won:
            session.refresh(post)
            claimed.append((post, since))
    return claimed


def admins_to_tell(session: Session, team_id: str) -> list[str]:
    """Who hears that a digest could not be posted: whoever ran the setup, and the extra admins."""
    configured_by = session.scalar(select(Workspace.configured_by).where(Workspace.team_id == team_id))
    if configured_by is None:
        return []
    return sorted({configured_by} | configured_admins(session, team_id))


def latest_sent(session: Session, team_id: str) -> Digest | None:
    """The newest digest that reached at least one destination."""
    return session.scalar(
        select(Digest)
        .join(DigestPost, DigestPost.digest_id == Digest.id)
        .where(Digest.team_id == team_id, DigestPost.status == PostStatus.SENT)
        .order_by(Digest.scheduled_at.desc())
        .limit(1)
    )


def pictures(session: Session, digest_id: int, destination: str) -> tuple[str, ...]:
    """The file ids of the pictures in the thread of a digest's post (none while not uploaded)."""
    post = session.get(DigestPost, (digest_id, destination))
    if post is None or post.file_id in (None, NO_PICTURES):
        return ()
    return tuple(post.file_id.split())


def failed_posts(session: Session, team_id: str, limit: int = MAX_FAILURES_SHOWN) -> list[FailedPost]:
    """The newest digest's posts that Slack refused, with Slack's error.

    Only the newest digest: once a destination is fixed, the next week's digest clears the list.
    """
    newest = (
        select(Digest.id)
        .where(Digest.team_id == team_id)
        .order_by(Digest.scheduled_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Digest.week, DigestPost.destination, DigestPost.error)
        .join(Digest, Digest.id == DigestPost.digest_id)
        .where(
            DigestPost.digest_id == newest,
            DigestPost.status.in_((PostStatus.REFUSED, PostStatus.NOTIFYING, PostStatus.FAILED)),
        )
        .order_by(DigestPost.destination)
        .limit(limit)
    )
    return [FailedPost(*row) for row in rows]


def set_nudge_state(
    session: Session,
    team_id: str,
    key: str,
    status: str,
    by: str,
    now: datetime,
    note: str | None = None,
    until: datetime | None = None,
) -> None:
    state = session.get(NudgeState, (team_id, key))
    if state is None:
        state = NudgeState(team_id=team_id, key=key)
        session.add(state)
    state.status, state.note, state.until, state.updated_by, state.updated_at = status, note, until, by, now
