"""The schema comes from migrations only, upgrades from empty, downgrades cleanly, and is race-safe."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select

from storage import migrate
from storage.db import Database
from storage.models import Answer, Base
from tests.conversation import FIRST_ROUND, SALES_TEAM, answer_round, create_pulse, run_at


def test_upgrade_from_empty_then_downgrade_to_empty(database_url):
    database = Database(database_url)
    try:
        assert migrate.current_revision(database.engine) is None
        migrate.upgrade(database.engine)
        assert migrate.current_revision(database.engine) == migrate.head_revision()
        tables = set(inspect(database.engine).get_table_names())
        assert {table.name for table in Base.metadata.sorted_tables} <= tables
        migrate.downgrade(database.engine, "base")
        assert migrate.current_revision(database.engine) is None
        assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(database.engine)  # and back up again
        assert migrate.current_revision(database.engine) == migrate.head_revision()
    finally:
        database.dispose()


def test_the_revisions_read_without_alembic_are_alembics(database_url):
    """`serve` checks the schema without importing Alembic; what it reads must be what Alembic says."""
    database = Database(database_url)
    try:
        head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
        assert migrate.head_revision() == head
        for revision in ("0003", "head"):
            migrate.upgrade(database.engine, revision)
            with database.engine.connect() as connection:
                alembics = MigrationContext.configure(connection).get_current_revision()
            assert migrate.current_revision(database.engine) == alembics
        assert alembics == head
        migrate.downgrade(database.engine, "0003")
        migrate.upgrade(database.engine)  # behind head: migrated, not taken for up to date
        assert migrate.current_revision(database.engine) == head
    finally:
        database.dispose()


def test_the_models_match_the_migrations(database_url):
    """A model change without a migration shows up here as a difference."""
    database = Database(database_url)
    try:
        migrate.upgrade(database.engine)
        with database.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        database.dispose()


def test_two_processes_upgrading_at_once_both_succeed(database_url):
    script = (
        "import sys; from storage.db import Database; from storage import migrate; "
        "database = Database(sys.argv[1]); migrate.upgrade(database.engine); "
        "print(migrate.current_revision(database.engine))"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, database_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    for process, (stdout, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr.decode()
        assert stdout.decode().strip() == migrate.head_revision()


def test_sqlite_is_tuned_for_a_server(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'tuned.db'}")
    try:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        database.dispose()


def test_downgrading_past_a_rebuilt_table_keeps_the_rows_that_refer_to_it(bot, driver, sandbox, clock):
    """0004 adds a column to `pulse_rounds`; undoing it rebuilds that table on SQLite, which must not
    cascade-delete the answers and deliveries of its rounds."""

    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, driver, sandbox, SALES_TEAM, score=3)
    with bot.database.session() as session:
        answers = session.scalar(select(func.count()).select_from(Answer))
    assert answers
    migrate.downgrade(bot.database.engine, "0003")
    migrate.upgrade(bot.database.engine)
    with bot.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Answer)) == answers
