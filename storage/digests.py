"""Persistence of digests: the stage each one reported (next week's stage is settled against it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Digest


def previous_stage(session: Session, team_id: str, before: datetime) -> str | None:
    """The stage reported by the last digest scheduled before `before`."""
    return session.scalar(
        select(Digest.stage)
        .where(Digest.team_id == team_id, Digest.scheduled_at < before, Digest.stage.is_not(None))
        .order_by(Digest.scheduled_at.desc())
        .limit(1)
    )
