"""Persistence of action items: one per submitted modal, closed once by a conditional update."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.domain.action_items import OPEN, ActionItem
from storage.models import ActionItem as ActionItemRow
from storage.workspaces import insert_once


def add(
    session: Session,
    team_id: str,
    request_key: str,
    *,
    nudge_key: str,
    title: str,
    owner: str,
    due: date,
    dimension: str | None,
    baseline: dict[str, float],
    by: str,
    now: datetime,
) -> bool:
    """The action item of one modal submission; False when that submission already made it."""
    return insert_once(
        session,
        ActionItemRow,
        team_id=team_id,
        request_key=request_key,
        nudge_key=nudge_key,
        title=title,
        owner=owner,
        due=due,
        status=OPEN,
        dimension=dimension,
        baseline=baseline,
        created_by=by,
        created_at=now,
    )


def items_of(session: Session, team_id: str, until: datetime | None = None) -> list[ActionItem]:
    """The workspace's action items taken by `until` (all of them without it), newest first."""
    query = select(ActionItemRow).where(ActionItemRow.team_id == team_id)
    if until is not None:
        query = query.where(ActionItemRow.created_at <= until)
    rows = session.scalars(query.order_by(ActionItemRow.created_at.desc(), ActionItemRow.id.desc()))
    return [_item(row, until) for row in rows]


def get(session: Session, team_id: str, item_id: int) -> ActionItem | None:
    row = session.scalar(
        select(ActionItemRow).where(ActionItemRow.team_id == team_id, ActionItemRow.id == item_id)
    )
    return _item(row) if row else None


def close(session: Session, team_id: str, item_id: int, status: str, by: str, now: datetime) -> bool:
    """Mark an open item done or dropped; False when it was not open (closed already, by anyone)."""
    won = session.execute(
        update(ActionItemRow)
        .where(ActionItemRow.team_id == team_id, ActionItemRow.id == item_id, ActionItemRow.status == OPEN)
        .values(status=status, closed_by=by, closed_at=now)
        .returning(ActionItemRow.id)
    ).first()
    return won is not None


def _item(row: ActionItemRow, until: datetime | None = None) -> ActionItem:
    """As it stood at `until`: an item closed after then was still open."""
    closed = row.closed_at is not None and (until is None or row.closed_at <= until)
    return ActionItem(
        id=row.id,
        nudge_key=row.nudge_key,
        title=row.title,
        owner=row.owner,
        due=row.due,
        status=row.status if closed else OPEN,
        taken_on=row.created_at.date(),
        dimension=row.dimension,
        baseline=dict(row.baseline),
        closed_on=row.closed_at.date() if closed else None,
    )
