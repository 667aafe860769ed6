"""`alignbot db backup` and `db restore`, as real processes, from each store into the other."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import func, select

from bot.domain.question_bank import load_bank
from bot.domain.vocabulary import EVERYONE
from bot.services.insights import InsightService
from bot.services.pulses import PulseService
from storage.db import Database, scratch_postgres_database
from storage.models import Base, PulseRound
from tests.conversation import (
    FIRST_ROUND,
    POSTGRES_URL,
    a_closed_round_with_a_gap,
)
from tests.processes import alignbot

TEAM = "T0ACME001"


@contextmanager
def other_store(source_url: str, tmp_path):
    """An empty database of the other kind: PostgreSQL for a SQLite source, and the reverse."""
    if source_url.startswith("sqlite"):
        with scratch_postgres_database(POSTGRES_URL, prefix="alignbot_restore") as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'restored.db'}"


def rows_per_table(url: str) -> dict[str, int]:
    database = Database(url)
    try:
        with database.session() as session:
            return {
                table.name: session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables
            }
    finally:
        database.dispose()


def test_a_backup_restores_into_the_other_store_with_the_same_results(
    bot, driver, sandbox, clock, database_url, tmp_path
):
    a_closed_round_with_a_gap(bot, driver, sandbox, clock)
    before = bot.services.insights.results(TEAM, FIRST_ROUND + timedelta(days=3))
    assert not before.composites[EVERYONE].withheld
    file = tmp_path / "alignbot.jsonl.gz"

    written = alignbot("db", "backup", str(file), cwd=tmp_path, env={"DATABASE_URL": database_url})
    assert written.returncode == 0, written.stderr
    with other_store(database_url, tmp_path) as target_url:
        restored = alignbot("db", "restore", str(file), cwd=tmp_path, env={"DATABASE_URL": target_url})
        assert restored.returncode == 0, restored.stderr
        assert written.stdout.split()[1] == restored.stdout.split()[1]  # the same number of rows
        assert rows_per_table(target_url) == rows_per_table(database_url)

        target = Database(target_url)
        try:
            insights = InsightService(target, PulseService(target, bot.services.clock, load_bank()))
            assert insights.results(TEAM, FIRST_ROUND + timedelta(days=3)) == before
            with target.session() as session:  # new rows get ids after the restored ones
                template = session.scalars(select(PulseRound)).first()
                session.add(
                    PulseRound(
                        team_id=TEAM,
                        cadence_id=template.cadence_id,
                        occurrence_key="after-restore",
                        scheduled_at=FIRST_ROUND + timedelta(weeks=1),
                        closes_at=FIRST_ROUND + timedelta(weeks=1, days=2),
                        status="closed",
                        item_ids=template.item_ids,
                        delivery="dm",
                        audience_size=0,
                        created_at=FIRST_ROUND,
                    )
                )
        finally:
            target.dispose()

        again = alignbot("db", "restore", str(file), cwd=tmp_path, env={"DATABASE_URL": target_url})
        assert again.returncode == 1
        assert "not empty" in again.stderr
        assert rows_per_table(target_url)["pulse_rounds"] == rows_per_table(database_url)["pulse_rounds"] + 1


def test_restoring_something_else_is_refused(tmp_path):
    file = tmp_path / "notes.txt.gz"
    file.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00")
    result = alignbot("db", "restore", str(file), cwd=tmp_path)
    assert result.returncode == 1
    assert "not an alignbot backup" in result.stderr
