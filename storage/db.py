"""Engines and sessions, tuned for each store.

SQLite is the embedded default: WAL so readers never wait for the writer, foreign keys on,
a busy timeout, and `BEGIN IMMEDIATE` so two writers queue instead of deadlocking when a
read turns into a write; deleted content is overwritten with zeros (`secure_delete`), so a
forgotten comment cannot be read back from the file. PostgreSQL (psycopg 3) is the scale-out
store.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000
#: PostgreSQL: a server that does not answer fails the connection after this long (libpq waits forever).
CONNECT_TIMEOUT_SECONDS = 10
#: A write that changes nothing: refused all the same by a read-only database (see `write_refusal`).
NO_OP_WRITE = "UPDATE alembic_version SET version_num = version_num WHERE 1 = 0"
SQLITE_HEADER = b"SQLite format 3\x00"
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout
#: PostgreSQL: connections kept open, and the most open at once. All kept: with taps side by side, a pool of
#: 10 plus 10 more closed on return had a busy process open a new connection every 25 taps.
POOL_SIZE = 20
#: PostgreSQL: a pooled connection idle this long is pinged before it is handed out (see `_ping_if_idle`).
PING_AFTER_IDLE_SECONDS = 10.0


def normalise_url(url: str) -> str:
    """Let operators write `postgresql://…`; we always drive PostgreSQL with psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite database (None for PostgreSQL or an in-memory database): where locks go."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def create_database_engine(url: str) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(
            url,
            pool_size=POOL_SIZE,
            max_overflow=0,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        )
        _ping_if_idle(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _ping_if_idle(engine: Engine) -> None:
    """A connection back from the pool is pinged first if it sat there `PING_AFTER_IDLE_SECONDS` or more
    (a server restarted or a proxy's idle timeout since): a dead one is replaced, not handed out. Not on
    every checkout, as `pool_pre_ping` does: that is a round trip per transaction, a tenth of a busy
    tap's CPU. A connection that dies while in use fails its transaction, and SQLAlchemy then replaces
    every connection the pool had opened before."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("idle_since", time.monotonic()) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(str(error)) from error  # the pool opens a new connection instead


class Database:
    """The engine plus a session factory; the one handle the rest of the bot passes around."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = create_database_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = threading.RLock() if self.engine.dialect.name == "sqlite" else None
        """SQLite: this process's writers take turns here (see `session`)."""

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises.

        On SQLite every transaction writes (`BEGIN IMMEDIATE`) and one at a time; SQLite makes the others
        poll, its busy handler sleeping 1, 2, 5… up to 100 ms between tries, so with taps side by side
        the lock sat free while its waiters slept. This process's writers queue on a lock of its own
        instead, handed on the moment it is free. (Re-entrant, and given up on after the busy timeout,
        so that nothing waits longer than SQLite alone would make it.)"""
        queued = self._writer is not None and self._writer.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            with self._sessions.begin() as session:
                yield session
        finally:
            if queued:
                self._writer.release()

    def sessions_named(self, application_name: str) -> list[int]:
        """PostgreSQL: the ids (backend pids) of the sessions on this database that carry
        `application_name` (each replica keeps one for the scheduler's election, so these are the
        live replicas)."""
        with self.engine.connect() as connection:
            return list(
                connection.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity"
                        " WHERE datname = current_database() AND application_name = :name ORDER BY pid"
                    ),
                    {"name": application_name},
                ).scalars()
            )

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query (used by /healthz)."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def write_refusal(self) -> str | None:
        """Why the database refuses writes (a read-only SQLite file, a PostgreSQL in read-only mode or a
        standby), or None when it takes them: a write that changes nothing, rolled back. A database busy
        with another writer takes writes, so waiting for it is not needed to know."""
        if self.backend == "sqlite":
            connection = self.engine.raw_connection()  # BEGIN, not the engine's BEGIN IMMEDIATE
            try:
                cursor = connection.cursor()
                cursor.execute("PRAGMA busy_timeout=0")
                try:
                    cursor.execute("BEGIN")
                    cursor.execute(NO_OP_WRITE)
                except Exception as error:  # the driver's own errors, whatever its module
                    return (
                        None
                        if "database is locked" in str(error)
                        else f"the database refuses writes: {error}"
                    )
                finally:
                    if connection.driver_connection.in_transaction:
                        cursor.execute("ROLLBACK")
                    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            finally:
                connection.close()
            return None
        with self.engine.connect() as connection:
            try:
                connection.execute(text("SET LOCAL lock_timeout = '1s'"))
                connection.execute(text(NO_OP_WRITE))
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                    return None  # a migration holds the table: busy, not read-only
                return f"the database refuses writes: {_first_line(error.orig)}"
            finally:
                connection.rollback()
        return None

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database file and empty it, so what was just
        overwritten is gone from both files. Nothing to do on PostgreSQL (see its VACUUM)."""
        if self.backend != "sqlite":
            return
        connection = self.engine.raw_connection()  # outside any transaction, as a checkpoint must be
        try:
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            connection.close()

    def dispose(self) -> None:
        self.engine.dispose()


#: PostgreSQL's refusals at connection time, by what libpq reports (it gives no SQLSTATE then).
_POSTGRES_REFUSALS = {
    "does not exist": "the database {database!r} does not exist on {server}: create it or fix the name",
    "password authentication failed": "{server} refused the password of user {user!r}",
    "no password supplied": "{server} wants a password for user {user!r}: put it in DATABASE_URL",
    'role "': "{server} refused user {user!r}: no such role, or it may not log in",
    "no pg_hba.conf entry": "{server} refused user {user!r} from this host (pg_hba.conf)",
    "permission denied for database": "user {user!r} may not connect to {database!r} on {server}",
}


def describe_failure(error: BaseException, url: str) -> str:
    """What an operator needs to know when the database cannot be opened: which file or server, and
    what is wrong with it, in one line (no driver traceback)."""
    parsed = make_url(normalise_url(url))
    database_file = sqlite_file(url)
    if database_file is not None:
        return _sqlite_problem(database_file) or f"{database_file}: {_first_line(error)}"
    if parsed.get_backend_name() != "postgresql":
        return _first_line(error)
    server = f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}"
    message = _first_line(getattr(error, "orig", error))
    for sign, refusal in _POSTGRES_REFUSALS.items():
        if sign in message and (sign != "does not exist" or f'database "{parsed.database}"' in message):
            return refusal.format(server=server, database=parsed.database, user=parsed.username)
    if "failed to resolve host" in message or "could not translate host name" in message:
        return f"unknown host {parsed.host!r}: no such name in DNS"
    if "Connection refused" in message:
        return f"cannot reach {server}: connection refused (is the server running, on that port?)"
    if "timeout expired" in message or "timed out" in message:
        return f"cannot reach {server}: no answer within {CONNECT_TIMEOUT_SECONDS} s"
    if isinstance(error, OperationalError):
        return f"cannot use {server}: {re.sub(r'^connection failed: ', '', message)}"
    return f"{server}: {message}"


def _sqlite_problem(database_file: Path) -> str | None:
    """Looks at the file and its folder for what stops SQLite using them (its own message, `unable to
    open database file`, names no cause)."""
    folder = database_file.parent
    if not folder.exists():
        existing = next(p for p in folder.parents if p.exists())
        return f"cannot create the folder {folder}: {existing} is not writable"
    if database_file.exists():
        try:
            with database_file.open("rb") as readable:
                header = readable.read(len(SQLITE_HEADER))
        except OSError as error:
            return f"cannot read {database_file}: {error.strerror}"
        if header and header != SQLITE_HEADER:
            return f"{database_file} is not an SQLite database (corrupt, or another kind of file)"
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        return f"the folder {folder} is not writable ({error.strerror}); SQLite writes its journal there"
    return None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return re.sub(r"^\(\S+\) ", "", lines[0]) if lines else type(error).__name__


@contextmanager
def scratch_postgres_database(server_url: str, prefix: str = "alignbot_scratch") -> Iterator[str]:
    """A new, empty PostgreSQL database on `server_url`'s server, dropped afterwards (tests, benchmarks)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(normalise_url(server_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
