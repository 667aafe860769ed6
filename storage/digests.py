"""Persistence of digests: the stage each one reported (next week's stage is settled against it)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import PENDING, SENDING, SENT, Digest, DigestPost, DigestSettings, NudgeState
from storage.workspaces import claim_pending, insert_once


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
    return list(session.scalars(select(DigestSettings).where(DigestSettings.paused.is_(False))))


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
            status=PENDING,
        )


def claim_posts(session: Session, now: datetime) -> list[DigestPost]:
    return claim_pending(session, DigestPost, now)


def stale_posts(session: Session, before: datetime) -> list[DigestPost]:
    return list(
        session.scalars(
            select(DigestPost).where(DigestPost.status == SENDING, DigestPost.claimed_at < before)
        )
    )


def posts_without_chart(session: Session) -> list[DigestPost]:
    return list(
        session.scalars(
            select(DigestPost).where(
                DigestPost.status == SENT, DigestPost.file_id.is_(None), DigestPost.message_ts.is_not(None)
            )
        )
    )


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
