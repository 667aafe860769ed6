"""Replicas share each workspace's posting pace through PostgreSQL: each claim takes the next slots, so
together they keep to Slack's cap, and whichever claims more sends more."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.db import Database, scratch_postgres_database
from storage.models import Base, Workspace
from storage.workspaces import take_post_slots
from tests.conversation import DATABASES, POSTGRES_URL

pytestmark = pytest.mark.skipif("postgresql" not in DATABASES, reason="PostgreSQL only")


def test_claims_take_consecutive_slots_of_a_workspace_pace_whoever_claims() -> None:
    with scratch_postgres_database(POSTGRES_URL, prefix="alignbot_test") as url:
        database = Database(url)
        try:
            Base.metadata.create_all(database.engine)
            with database.session() as session:
                for team_id in ("T1", "T2"):
                    session.add(
                        Workspace(
                            team_id=team_id,
                            timezone="UTC",
                            default_language="en",
                            anonymity_threshold=5,
                            configured_by="U1",
                            configured_at=datetime(2026, 11, 30, tzinfo=UTC),
                        )
                    )
            with database.session() as first_replica:
                first = take_post_slots(first_replica, {"T1": 2.0})
            with database.session() as second_replica:
                second = take_post_slots(second_replica, {"T1": 1.0, "T2": 1.0})
            with database.session() as first_replica_again:
                third = take_post_slots(first_replica_again, {"T1": 1.0})
        finally:
            database.dispose()
    assert first == {"T1": 0.0}  # a pace nobody took yet is free now
    assert second["T1"] == pytest.approx(2.0, abs=0.5)  # after the first replica's two seconds
    assert second["T2"] == 0.0  # another workspace's pace is its own
    assert third["T1"] == pytest.approx(3.0, abs=0.5)
