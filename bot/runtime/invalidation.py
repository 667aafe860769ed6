"""Every replica hears of workspace settings changed through another (PostgreSQL `LISTEN`).

Why a listener and not a version read per request: the version would cost each request a query
(before its own), while a change is rare; a notification costs nothing until something changes and
arrives within milliseconds of the commit. What it cannot do is say that none was missed while its
connection was down, so the cache is bypassed until it listens again (`WorkspaceSettingsCache.listening`).
"""

from __future__ import annotations

import contextlib
import logging
import threading

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.runtime.leadership import LEADER_CONNECTION
from bot.services.settings_cache import WorkspaceSettingsCache
from storage.db import normalise_url
from storage.workspaces import SETTINGS_CHANNEL

logger = logging.getLogger(__name__)

#: How long the listener waits for a notification before it looks whether it should stop.
WAIT_SECONDS = 1.0
#: How long it waits before connecting again after its connection failed.
RECONNECT_SECONDS = 2.0


class SettingsListener:
    """A thread on a connection of its own, LISTENing on `SETTINGS_CHANNEL`: each notification
    names a workspace whose kept settings `cache` forgets."""

    def __init__(self, database_url: str, cache: WorkspaceSettingsCache) -> None:
        self._cache = cache
        connect_args = LEADER_CONNECTION | {"application_name": "alignbot-settings"}
        self._engine = create_engine(
            normalise_url(database_url), poolclass=NullPool, connect_args=connect_args
        )
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()
        """Set while LISTENing (tests wait for it)."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alignbot-settings", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg  # PostgreSQL only: a bot on SQLite does not load the driver

        warned = False
        while not self._stopping.is_set():
            connection: Connection | None = None
            try:
                connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                connection.execute(text(f"LISTEN {SETTINGS_CHANNEL}"))
                self._cache.listening(True)
                self.listening.set()
                warned = False
                listener = connection.connection.dbapi_connection
                while not self._stopping.is_set():
                    for notification in listener.notifies(timeout=WAIT_SECONDS):
                        self._cache.changed(notification.payload)
            except (SQLAlchemyError, psycopg.Error) as error:
                if not warned:
                    logger.warning("not hearing of settings changed elsewhere (read every time): %s", error)
                    warned = True
            finally:
                self.listening.clear()
                self._cache.listening(False)
                if connection is not None:
                    with contextlib.suppress(SQLAlchemyError, psycopg.Error):
                        connection.close()
            self._stopping.wait(RECONNECT_SECONDS)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self._engine.dispose()
