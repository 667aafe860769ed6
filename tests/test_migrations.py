"""The schema comes from migrations only, upgrades from empty, downgrades cleanly, and is race-safe."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage import migrate
from storage.db import Database
from storage.models import Base


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
