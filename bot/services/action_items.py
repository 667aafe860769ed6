"""Action items: a leader takes on a nudge, owns it until a due date, and marks it done or dropped."""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain.action_items import DONE, DROPPED, ActionItem, dimension_of_nudge, shown_figures
from bot.services.insights import InsightService
from storage import action_items as store
from storage import digests as digest_store
from storage.db import Database

CLOSINGS = (DONE, DROPPED)
#: After an action item is done, its nudge stays away this long.
SETTLE = timedelta(weeks=4)


class ActionItemService:
    def __init__(self, database: Database, insights: InsightService) -> None:
        self.database = database
        self.insights = insights

    def take(
        self, team_id: str, request_key: str, nudge_key: str, title: str, owner: str, due: date, by: str
    ) -> bool:
        """Record what a leader takes on, with the figures shown for its topic now (the latest
        snapshot), so later digests can say how they moved. The nudge is not repeated meanwhile.
        False when this request already did it."""
        now = self.insights.pulses.clock.now()
        meta = self.insights.item_meta(team_id)
        dimension = dimension_of_nudge(
            nudge_key, {item: m.dimension for item, m in meta.items()}, {m.dimension for m in meta.values()}
        )
        baseline = shown_figures(self.insights.latest_results(team_id), dimension)
        with self.database.session() as session:
            added = store.add(
                session,
                team_id,
                request_key,
                nudge_key=nudge_key,
                title=title,
                owner=owner,
                due=due,
                dimension=dimension,
                baseline=baseline,
                by=by,
                now=now,
            )
            if added:
                digest_store.set_nudge_state(session, team_id, nudge_key, "in_progress", by, now, note=title)
        return added

    def items(self, team_id: str) -> list[ActionItem]:
        """Every action item of the workspace, newest first (the leaders' Home tab)."""
        with self.database.session() as session:
            return store.items_of(session, team_id)

    def item(self, team_id: str, item_id: int) -> ActionItem | None:
        with self.database.session() as session:
            return store.get(session, team_id, item_id)

    def close(self, team_id: str, item_id: int, status: str, by: str) -> ActionItem | None:
        """Done or dropped, once: the item, or None when it was not open any more.

        Its nudge may come back: a dropped one at once, a done one after `SETTLE` (time for the
        figures to move before the digest suggests the same again)."""
        if status not in CLOSINGS:
            raise ValueError(f"an action item closes as done or dropped, not {status!r}")
        now = self.insights.pulses.clock.now()
        with self.database.session() as session:
            if not store.close(session, team_id, item_id, status, by, now):
                return None
            item = store.get(session, team_id, item_id)
            until = now + SETTLE if status == DONE else None
            digest_store.set_nudge_state(session, team_id, item.nudge_key, status, by, now, until=until)
        return item
