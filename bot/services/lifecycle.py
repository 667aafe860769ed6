"""Anyone can ask to be forgotten (answers also expire: see `bot.jobs.retention`).

Forgetting changes no figure anyone can read: what closed rounds counted of the person stays,
under a random name nothing maps back to them (see `storage.lifecycle.forget_person`). What
could name them is deleted for real: overwritten in the database file, not just unlinked.
"""

from __future__ import annotations

from datetime import datetime

from storage import lifecycle as store
from storage.db import Database


def forget(database: Database, team_id: str, user_id: str, now: datetime) -> dict[str, int]:
    """Delete one person's comments, preferences and meeting replies in one workspace, and cut
    them off from their answers and the pulses sent to them."""
    with database.session() as session:
        forgotten = store.forget_person(session, team_id, user_id, now)
    database.checkpoint()
    return forgotten
