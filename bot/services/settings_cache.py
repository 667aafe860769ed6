"""What requests read about their workspace on every request, kept in memory per workspace.

A tap re-draws the person's pulse with the workspace's statements (its custom ones too); admin and
leader checks read the configured admins and the leadership channel; replies choose a language from
the workspace's default. Those change rarely (the setup modal, a new custom statement) and are read
all the time, so each process keeps them per workspace and forgets them when they change:

- in the process that writes, at once, after the write commits (`changed`);
- in every other replica, on PostgreSQL, by a `NOTIFY` sent in the writing transaction (delivered
  only if it commits, a moment after) to the listener each replica runs (`bot.runtime.invalidation`),
  which also says while it is not listening: the cache is then bypassed, so a replica that cannot
  hear of changes never serves what it kept;
- and after `ttl` seconds whatever happens, as a safety net.

The anonymity threshold is not kept here: whatever shows figures reads it in its own transaction, so
a threshold an admin raised applies at once on every replica.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.domain.question_bank import Item, QuestionBank
from storage import pulses as pulse_store
from storage import workspaces as workspace_store
from storage.db import Database

#: Seconds a workspace's settings are kept at most, even when no change was announced.
SETTINGS_TTL_SECONDS = 60.0


@dataclass(frozen=True)
class WorkspaceSettings:
    """A workspace's settings as requests read them; `configured` False until it is set up."""

    bank: QuestionBank
    """The statements it asks: the packaged ones and its own custom ones."""
    configured: bool = False
    default_language: str | None = None
    admins: frozenset[str] = frozenset()
    leadership_channel: str | None = None


def workspace_bank(session: Session, bank: QuestionBank, team_id: str) -> QuestionBank:
    """`bank` with the workspace's own statements, read in `session`."""
    custom = [
        Item(
            id=row.item_id,
            dimension=row.dimension,
            texts={lang: text for lang, text in (("en", row.text_en), ("fa", row.text_fa)) if text},
            scored=False,
            hbr_theme=None,
            revision=1,
            custom=True,
        )
        for row in pulse_store.custom_items(session, team_id)
    ]
    return bank.with_custom(custom)


class WorkspaceSettingsCache:
    """Each workspace's `WorkspaceSettings`, read from the database when not kept (see the module)."""

    def __init__(
        self,
        database: Database,
        bank: QuestionBank,
        ttl: float = SETTINGS_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._bank = bank
        self._ttl = ttl
        self._monotonic = monotonic
        self._kept: dict[str, tuple[float, WorkspaceSettings]] = {}
        self._generation = 0
        """Counts the changes heard of: settings read before one are not kept after it."""
        self._lock = threading.Lock()
        self.trusted = database.backend != "postgresql"
        """Whether changes made elsewhere are heard of: always with SQLite (one process writes), on
        PostgreSQL while the replica's listener listens (`bot.runtime.invalidation`)."""

    def get(self, team_id: str, session: Session | None = None) -> WorkspaceSettings:
        """The workspace's settings; when not kept, read in `session` if given (a transaction of the
        caller's: on SQLite a second one would wait for the caller's own write lock), else in one
        of their own."""
        with self._lock:
            kept = self._kept.get(team_id)
            generation = self._generation
            if kept is not None and self.trusted and self._monotonic() - kept[0] < self._ttl:
                return kept[1]
        read_at = self._monotonic()
        if session is not None:
            settings = self._read(session, team_id)
        else:
            with self._database.session() as own:
                settings = self._read(own, team_id)
        with self._lock:
            if generation == self._generation and self.trusted:
                self._kept[team_id] = (read_at, settings)
        return settings

    def _read(self, session: Session, team_id: str) -> WorkspaceSettings:
        bank = workspace_bank(session, self._bank, team_id)
        config = workspace_store.load_config(session, team_id)
        if config is None:
            return WorkspaceSettings(bank)
        return WorkspaceSettings(
            bank, True, config.default_language, frozenset(config.admins), config.leadership_channel
        )

    def changed(self, team_id: str) -> None:
        """The workspace's settings changed (a committed write here, or one announced by another replica)."""
        with self._lock:
            self._generation += 1
            self._kept.pop(team_id, None)

    def listening(self, heard: bool) -> None:
        """Whether changes made through other replicas are heard of from now on; either way, what was
        kept is forgotten (changes may have been missed)."""
        with self._lock:
            self._generation += 1
            self._kept.clear()
            self.trusted = heard
