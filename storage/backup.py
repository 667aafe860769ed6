"""A portable backup: every table as JSON lines in one gzip file, restorable on either store.

Database-native tools (`sqlite3 .backup`, `pg_dump`) work too and are faster for big stores;
this format also moves a workspace from SQLite to PostgreSQL. Secrets (Slack's tokens) are written
as the database holds them, encrypted (see `storage.secrets`). The dump is read in one
transaction, so it is consistent while the bot keeps running; it is restored into an empty
database at the same schema revision, and PostgreSQL's id sequences are moved past the ids
restored. The rollups (`storage.rollups`) are not written: the restore rebuilds them from the
answers it loaded.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, Table, func, insert, make_url, select, text

from storage import migrate, rollups
from storage.db import Database
from storage.models import Base, RollupPerson, UTCDateTime
from storage.secrets import as_stored

FORMAT = "alignbot-backup"
VERSION = 1
BATCH = 1_000
#: Tables worked out from the others, rebuilt on restore rather than carried.
DERIVED = (RollupPerson.__table__,)


def _carried() -> list[Table]:
    return [table for table in Base.metadata.sorted_tables if table not in DERIVED]


class BackupError(Exception):
    """A backup that cannot be restored here; the message says why and what to do."""


def backup(database: Database, path: Path) -> dict[str, int]:
    """Write every row to `path`; returns the rows written per table."""
    revision = migrate.current_revision(database.engine)
    if revision != migrate.head_revision():
        raise BackupError(f"the database is at revision {revision}; run `alignbot db upgrade` first")
    if database.backend != "sqlite":
        return _dump(database, revision, path)
    # SQLite's own online backup takes a consistent copy without holding up the bot's writers,
    # which a long read transaction on the live file would do.
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "snapshot.sqlite3"
        live_file = make_url(database.url).database
        with closing(sqlite3.connect(live_file)) as live, closing(sqlite3.connect(copy)) as snapshot:
            live.backup(snapshot)
        snapshot_database = Database(f"sqlite:///{copy}")
        try:
            return _dump(snapshot_database, revision, path)
        finally:
            snapshot_database.dispose()


def _dump(database: Database, revision: str, path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with database.engine.connect() as connection, gzip.open(path, "wt", encoding="utf-8") as out:
        if database.backend == "postgresql":  # one snapshot for every table
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        out.write(json.dumps({"format": FORMAT, "version": VERSION, "revision": revision}) + "\n")
        for table in _carried():
            counts[table.name] = 0
            query = select(*as_stored(table)).order_by(*table.primary_key.columns)  # secrets encrypted
            for row in connection.execution_options(yield_per=BATCH).execute(query):
                out.write(json.dumps({"table": table.name, "row": _encode(row._mapping)}) + "\n")
                counts[table.name] += 1
    return counts


def restore(database: Database, path: Path) -> dict[str, int]:
    """Load a backup into this database, which must hold no rows; returns the rows per table."""
    migrate.upgrade(database.engine)
    lines = _lines(path)
    header = json.loads(next(lines, "{}"))
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise BackupError(f"{path} is not an alignbot backup")
    if header["revision"] != migrate.head_revision():
        raise BackupError(
            f"the backup is at schema revision {header['revision']}, this version of alignbot at "
            f"{migrate.head_revision()}: restore with the version that wrote it, then upgrade"
        )
    tables = {table.name: table for table in _carried()}
    counts = dict.fromkeys(tables, 0)
    with database.session() as session:
        for table in tables.values():
            if session.scalar(select(func.count()).select_from(table)):
                raise BackupError(f"the database is not empty (table {table.name} has rows)")
        batch: list[dict[str, Any]] = []
        current: Table | None = None
        for line in lines:
            record = json.loads(line)
            table = tables[record["table"]]
            if table is not current and batch:
                session.execute(insert(current), batch)
                batch = []
            current = table
            batch.append(_decode(table, record["row"]))
            counts[table.name] += 1
            if len(batch) >= BATCH:
                session.execute(insert(current), batch)
                batch = []
        if batch:
            session.execute(insert(current), batch)
        if database.backend == "postgresql":
            for table in tables.values():
                _move_sequence_past_rows(session, table)
        rollups.rebuild(session)
    return counts


def _lines(path: Path) -> Iterator[str]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        yield from lines


def _encode(row) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, date | datetime) else value for key, value in row.items()
    }


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(row)
    for column in table.columns:
        value = row.get(column.name)
        if value is None:
            continue
        if isinstance(column.type, UTCDateTime | DateTime):
            decoded[column.name] = datetime.fromisoformat(value)
        elif isinstance(column.type, Date):
            decoded[column.name] = date.fromisoformat(value)
    return decoded


def _move_sequence_past_rows(session, table: Table) -> None:
    """Rows were inserted with their ids; the next id the database hands out must follow them."""
    column = table.autoincrement_column
    if column is not None:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                f'COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'
            ),
            {"table": table.name, "column": column.name},
        )
