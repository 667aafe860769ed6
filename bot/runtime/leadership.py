"""Which process runs the scheduler: exactly one per database.

PostgreSQL: every replica started with a scheduler tries `pg_try_advisory_lock` every
LEADER_CHECK_SECONDS on a connection of its own (never one from the pool that serves
requests); the one that gets the lock leads until that connection ends. The lock belongs to
the session, so when the leader's process dies its connection closes and PostgreSQL frees the
lock at once; when the leader's host or network dies, the TCP keepalives set on that session
end it within about 20 s. The leader checks its connection at the same interval and stops its
scheduler as soon as the check fails, so two schedulers can overlap for one interval at most —
harmless, since every step the runners take is keyed in the database. The leader also listens
on that connection, so a cadence changed through another replica re-plans it at once.

SQLite: one process per database file runs the scheduler, by two exclusive locks held for the
process's lifetime, each on a file named after the database file's identity (device and inode), so a
second one refuses to start whatever path it reaches the file by: one in a fixed directory of the host
(`/dev/shm/alignbot`, else the temporary directory), which sees every path on this host, a hard link in
another folder included; and one beside the real file, which also sees processes whose view of that
directory differs (containers sharing the volume, services with a private /tmp). The database file
itself is never locked: closing a descriptor of it would drop SQLite's own locks.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.runtime.settings import ConfigError
from storage.db import normalise_url, sqlite_file

logger = logging.getLogger(__name__)

SCHEDULER_LOCK_KEY = int.from_bytes(b"alignsch")  # the advisory lock id, same in every replica
SCHEDULE_CHANNEL = "alignbot_schedule"  # NOTIFY channel: "a cadence changed, look again"
#: libpq settings of the election's connections: the client notices a dead server, and the
#: server notices a dead leader (idle 5 s, then 3 probes 5 s apart), within about 20 s.
LEADER_CONNECTION = {
    "application_name": "alignbot-scheduler",
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 20_000,
    "options": "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3",
}

Callback = Callable[[], None]


class SchedulerAlreadyRunning(ConfigError):
    """Another process runs the scheduler on this SQLite file: reported like a bad setting (exit 2)."""


class Leadership(Protocol):
    is_leader: bool
    #: How the other replicas tell this one among the live ones (None: not known, or one process).
    session_id: int | None

    def start(self, elected: Callback, deposed: Callback, woken: Callback) -> None:
        """Campaign: call `elected` on winning, `deposed` on losing the lead, and, while leading,
        `woken` when another process calls `wake_leader`."""

    def wake_leader(self) -> None:
        """Tell the leader, wherever it runs, that the schedule changed."""

    def stop(self) -> None:
        """Stop campaigning; a leader calls `deposed`, then lets go so another process can lead."""


def leadership_for(database_url: str, check_seconds: float) -> Leadership:
    """PostgreSQL elects a leader among replicas; SQLite allows one scheduler per file."""
    url = normalise_url(database_url)
    if make_url(url).get_backend_name() == "postgresql":
        return AdvisoryLockLeadership(url, check_seconds)
    return FileLockLeadership(sqlite_file(url))


class FileLockLeadership:
    """Leads for the whole process, or refuses to be created while another process holds the file."""

    def __init__(self, database_file: Path | None) -> None:
        self.is_leader = False
        self.session_id = None
        self._locks: list[tuple[Path, IO[bytes]]] = []
        if database_file is None:
            return  # in memory: no other process can open it
        for lock_path in scheduler_lock_paths(database_file):
            lock = _exclusive_lock(lock_path)
            if lock is None:
                self._release()
                raise SchedulerAlreadyRunning(
                    f"another alignbot process already runs the scheduler on {database_file}; "
                    "SQLite allows one per database file (several replicas need PostgreSQL)"
                )
            self._locks.append((lock_path, lock))

    def start(self, elected: Callback, deposed: Callback, woken: Callback) -> None:
        self._deposed = deposed
        self.is_leader = True
        elected()

    def wake_leader(self) -> None:
        """Nothing to do: the process that has the file lock is the only one with a scheduler."""

    def stop(self) -> None:
        if self.is_leader:
            self._deposed()
            self.is_leader = False
        self._release()

    def _release(self) -> None:
        """Remove each lock file, then close it, which releases the lock: whoever opened it meanwhile
        finds on locking that it is no longer the file at that path (see `_exclusive_lock`)."""
        for lock_path, lock in self._locks:
            with contextlib.suppress(FileNotFoundError, PermissionError):  # another user's: left
                os.unlink(lock_path)
            lock.close()
        self._locks.clear()


def host_lock_directory() -> Path:
    """The same folder for every process of this host: shared memory (not made private to a service by
    systemd's PrivateTmp, unlike /tmp), or the temporary directory where there is none."""
    shared_memory = Path("/dev/shm")
    return (shared_memory if shared_memory.is_dir() else Path(tempfile.gettempdir())) / "alignbot"


def scheduler_lock_paths(database_file: Path) -> list[Path]:
    """The lock files of an SQLite database, the same through any symlink or hard link to it: one in
    the host's lock directory, one beside the real file."""
    database_file.parent.mkdir(parents=True, exist_ok=True)
    database_file.touch()  # a new database is an empty file to SQLite; its identity must exist now
    real_file = database_file.resolve()
    identity = real_file.stat()
    name = f".alignbot-scheduler-{identity.st_dev}-{identity.st_ino}.lock"
    host_directory = host_lock_directory()
    if not host_directory.is_dir():
        host_directory.mkdir(exist_ok=True)
        host_directory.chmod(0o1777)  # every user's bots lock here, as in /tmp
    return [host_directory / name, real_file.with_name(name)]


def _exclusive_lock(path: Path) -> IO[bytes] | None:
    """The open, exclusively locked file at `path`, or None while another process holds it."""
    while True:
        descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)  # flock needs no more
        lock = os.fdopen(descriptor, "rb")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(descriptor).st_ino:
                return lock
        lock.close()  # its holder removed it as we opened it: lock the file now at that path


class AdvisoryLockLeadership:
    """Tries for the advisory lock, and while holding it checks its connection, every `check_seconds`."""

    def __init__(self, database_url: str, check_seconds: float) -> None:
        self.check_seconds = check_seconds
        self.is_leader = False
        self._engine = create_engine(database_url, poolclass=NullPool, connect_args=LEADER_CONNECTION)
        self._connection: Connection | None = None
        #: This replica's election session (its backend pid), by which other replicas see it live.
        self.session_id: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._database_was_down = False

    def start(self, elected: Callback, deposed: Callback, woken: Callback) -> None:
        self._elected, self._deposed, self._woken = elected, deposed, woken
        self._thread = threading.Thread(target=self._campaign, name="alignbot-leadership", daemon=True)
        self._thread.start()

    def _campaign(self) -> None:
        while not self._stopping.is_set():
            if self.is_leader:
                if not self._listen_while_connected():
                    logger.warning("lost the scheduler lead: the connection holding the lock failed")
                    self._step_down()
            elif not self._try_to_lead():
                self._stopping.wait(self.check_seconds)

    def _try_to_lead(self) -> bool:
        """Take the lock if it is free; True when this process now leads."""
        try:
            if self._connection is None:
                self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                self.session_id = self._connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            won = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}
            ).scalar_one()
            if won:
                self._connection.execute(text(f"LISTEN {SCHEDULE_CHANNEL}"))
        except SQLAlchemyError as error:
            if not self._database_was_down:
                logger.warning("cannot reach the database to elect the scheduler leader: %s", error)
            self._database_was_down = True
            self._close()
            return False
        self._database_was_down = False
        if won:
            logger.info("this replica now runs the scheduler")
            self.is_leader = True
            self._elected()
        return won

    def _listen_while_connected(self) -> bool:
        """Wait up to `check_seconds` for a wake-up call, then check the connection; False if it failed."""
        import psycopg  # PostgreSQL only: a bot on SQLite does not load the driver

        try:
            listener = self._connection.connection.dbapi_connection
            for _notification in listener.notifies(timeout=self.check_seconds, stop_after=1):
                if not self._stopping.is_set():
                    self._woken()
            self._connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, psycopg.Error):
            return False
        return True

    def wake_leader(self) -> None:
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": SCHEDULE_CHANNEL})
                connection.commit()
        except SQLAlchemyError as error:
            logger.warning(
                "could not tell the leader the schedule changed (its minute tick will see it): %s", error
            )

    def _step_down(self) -> None:
        self.is_leader = False
        self._deposed()
        self._close()  # ends the session: PostgreSQL frees the lock at once

    def _close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):  # already gone, which is all closing it was for
                self._connection.close()
            self._connection, self.session_id = None, None

    def stop(self) -> None:
        self._stopping.set()
        if self.is_leader:
            self.wake_leader()  # ends the leader's wait for a notification
        if self._thread is not None:
            self._thread.join()
        if self.is_leader:
            logger.info("handing the scheduler over")
            self._step_down()
        self._close()
        self._engine.dispose()
