"""Anyone can ask to be forgotten (answers also expire: see `bot.jobs.retention`).

Every figure is computed from the answers still stored, so deleting them is all it takes for the
digest, the Home tab and the export to stop counting them.
"""

from __future__ import annotations

from storage import lifecycle as store
from storage.db import Database


def forget(database: Database, team_id: str, user_id: str) -> dict[str, int]:
    """Delete one person's answers, comments, pulse deliveries, preferences and meeting replies in
    one workspace."""
    with database.session() as session:
        return store.forget_person(session, team_id, user_id)
