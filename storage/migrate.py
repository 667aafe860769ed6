"""Apply the Alembic migrations that ship inside the package.

Two processes may start at once (two replicas, or `serve` beside `db upgrade`); each takes
a lock first (a PostgreSQL advisory lock, or an exclusive lock on a file beside the SQLite
database), so the second finds the schema already at head and does nothing.

An upgrade that applies ROLLUPS_ADDED writes the rollups of the rounds already closed once the schema
is at head, in the same transaction, with the code that writes them at every close: a migration that
ran today's code against its own, older schema would break as soon as that code changed.

Whether the schema is at head is read without Alembic (the version table, and the revision ids
the migration files declare): Alembic, with Mako and Pygments, is about 8 MB a server would hold
for nothing once its database is up to date, so it is imported only to migrate.
"""

from __future__ import annotations

import ast
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from storage.db import sqlite_file

if TYPE_CHECKING:
    from alembic.config import Config

#: Alembic's table holding the revision a database is at.
VERSION_TABLE = "alembic_version"

MIGRATION_LOCK_KEY = 0x616C69676E  # "align": the advisory lock id, same in every process

#: The revision that added the rollups (see the module's docstring).
ROLLUPS_ADDED = "0014"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # only to migrate (see the module's docstring)

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
    """Migrate to `revision`; a database already at head is left as it is without importing Alembic.

    An upgrade that stops short of head after applying ROLLUPS_ADDED leaves the rollups to the
    `alignbot rollups rebuild` command: today's code may not fit that schema."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    from alembic import command  # only to migrate (see the module's docstring)

    with _migration_lock(engine) as connection:
        before = _revision_on(connection)
        command.upgrade(alembic_config(connection), revision)
        after = _revision_on(connection)
        if after == head_revision() and ROLLUPS_ADDED in _applied(before, after):
            _roll_up_closed_rounds(connection)
        connection.commit()


def _roll_up_closed_rounds(connection: Connection) -> None:
    from sqlalchemy.orm import Session

    from storage import rollups  # with the upgrade that needs it, not with every start

    with Session(bind=connection) as session:
        rollups.rebuild(session)


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command  # only to migrate (see the module's docstring)

    with _migration_lock(engine) as connection:
        command.downgrade(alembic_config(connection), revision)
        connection.commit()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when empty), as Alembic's `get_current_revision` reads it."""
    with engine.connect() as connection:
        return _revision_on(connection)


def _revision_on(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(versions) > 1:
        raise RuntimeError(f"the database is at several revisions at once: {', '.join(sorted(versions))}")
    return versions[0] if versions else None


def head_revision() -> str:
    """The one revision no migration revises, from the `revision`/`down_revision` each file declares."""
    revises = _revises()
    heads = set(revises) - set().union(*revises.values())
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {', '.join(sorted(heads))}")
    return heads.pop()


def _applied(before: str | None, after: str | None) -> set[str]:
    """The revisions an upgrade from `before` to `after` applied: `after` and what it revises, back
    to (not including) `before` and what that revises."""
    revises = _revises()

    def lineage(revision: str | None) -> set[str]:
        found, waiting = set(), [revision] if revision else []
        while waiting:
            current = waiting.pop()
            if current not in found:
                found.add(current)
                waiting += revises.get(current, ())
        return found

    return lineage(after) - lineage(before)


def _revises() -> dict[str, set[str]]:
    """Each migration's revision id → the ids it revises, as the files declare them (read, not run)."""
    revises: dict[str, set[str]] = {}
    for path in (Path(__file__).parent / "migrations" / "versions").glob("*.py"):
        declared = {
            target.id: ast.literal_eval(statement.value)
            for statement in ast.parse(path.read_text()).body
            if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None
            for target in (statement.targets if isinstance(statement, ast.Assign) else [statement.target])
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision")
        }
        down = declared.get("down_revision")
        revises[declared["revision"]] = set(down if isinstance(down, tuple) else [down] if down else [])
    return revises
