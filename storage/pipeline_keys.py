"""The record ids met while checking a CRM export, kept on disk: a file of a million rows is checked
for repeated ids with memory that stays flat (a dict of the ids would grow by some 100 bytes a row).

A private temporary SQLite database (stdlib `sqlite3`, not the bot's database): SQLite keeps a few MB
of it in memory and the rest in a file it deletes when closed."""

from __future__ import annotations

import sqlite3
from types import TracebackType

CACHE_KIB = 4096


class KeysOnDisk:
    """`bot.domain.pipeline_csv.SeenKeys` in a temporary file; use it as a context manager."""

    def __init__(self) -> None:
        self._connection = sqlite3.connect("", isolation_level=None)  # "": a private file, deleted on close
        self._connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._connection.execute("PRAGMA journal_mode = OFF")
        self._connection.execute("PRAGMA synchronous = OFF")
        self._connection.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, content INTEGER) WITHOUT ROWID")
        self._connection.execute("BEGIN")

    def earlier(self, key: str, content: int) -> int | None:
        if self._connection.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (key, content)).rowcount:
            return None
        return self._connection.execute("SELECT content FROM seen WHERE key = ?", (key,)).fetchone()[0]

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> KeysOnDisk:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
