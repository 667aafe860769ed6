"""The in-process tier: the bot built as in production but never serving HTTP; each signed request
goes straight to `bot.app.dispatch`, its Web API calls still to the sandbox. SQLite only (the HTTP
tier runs both databases), each test on a copy of one database migrated once per session.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.clock import ManualClock
from bot.runtime.process import BotRuntime
from bot.runtime.settings import Settings
from bot.sandbox.server import SlackSandbox
from storage import migrate
from storage.db import Database
from tests.conversation import SIGNING_SECRET, InProcessDriver


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database at the newest schema: migrating takes longer than most tests here."""
    path = tmp_path_factory.mktemp("schema") / "alignbot.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database.engine)
    database.dispose()
    return path


@pytest.fixture
def database_url(tmp_path: Path, migrated_database: Path) -> str:
    copy = shutil.copyfile(migrated_database, tmp_path / "alignbot.db")
    return f"sqlite:///{copy}"


@pytest.fixture
def bot(settings: Settings, clock: ManualClock) -> Iterator[BotRuntime]:
    """The bot, not started: no HTTP server thread, no scheduler; `stop()` still waits for listeners."""
    runtime = BotRuntime(settings, clock=clock, scheduler=False)
    yield runtime
    runtime.stop()


@pytest.fixture
def driver(bot: BotRuntime, sandbox: SlackSandbox) -> InProcessDriver:
    return InProcessDriver(bot.app, SIGNING_SECRET, sandbox)
