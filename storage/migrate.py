"""Apply the Alembic migrations that ship inside the package.

Two processes may start at once (two replicas, or `serve` beside `db upgrade`); each takes
a lock first (a PostgreSQL advisory lock, or an exclusive lock on a file beside the SQLite
database), so the second finds the schema already at head and does nothing.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from storage.db import sqlite_file

MIGRATION_LOCK_KEY = 0x616C69676E  # "align": the advisory lock id, same in every process


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    config.attributes["connection"] = connection
    return config


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                connection.commit()
        else:
            with _sqlite_file_lock(engine), _sqlite_foreign_keys_off(connection):
                yield connection


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    database = sqlite_file(str(engine.url))
    if database is None:
        yield
        return
    with open(database.with_name(database.name + ".migrate-lock"), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """A batch migration rebuilds a table by copying it and dropping the old one; with foreign keys
    on, that drop would cascade-delete every row that refers to it (answers of the rounds table…).
    The pragma only works outside a transaction, so it goes to the driver before anything else."""
    driver = connection.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    except BaseException:
        connection.invalidate()  # never back to the pool without its foreign keys
        raise
    driver.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _migration_lock(engine) as connection:
        command.upgrade(alembic_config(connection), revision)
        connection.commit()


def downgrade(engine: Engine, revision: str = "base") -> None:
    with _migration_lock(engine) as connection:
        command.downgrade(alembic_config(connection), revision)
        connection.commit()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
