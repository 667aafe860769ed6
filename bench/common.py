"""What the benchmarks share: a bot on a generated workspace, set up without going through Slack."""

from __future__ import annotations

import os
import platform
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path

from bot.domain import schedule
from bot.domain.cadence import CadenceSettings
from bot.domain.clock import ManualClock
from bot.domain.workspace_setup import WorkspaceConfig
from bot.runtime.process import BotRuntime
from bot.runtime.settings import Settings
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import SandboxWorkspace
from handlers.context import Services
from storage.db import scratch_postgres_database

SIGNING_SECRET = "bench-signing-secret"
#: Monday 2 March 2026, 07:00 UTC; the cadence fires on Tuesday at 10:00 Berlin (09:00 UTC).
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
FIRST_ROUND = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def machine() -> str:
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{python}, {os.cpu_count()} cores, {platform.machine()}"


@contextmanager
def bench_database(postgres_server: str | None) -> Iterator[str]:
    """A fresh SQLite file, or a scratch database on the given PostgreSQL server, removed afterwards."""
    if postgres_server:
        with scratch_postgres_database(postgres_server, prefix="alignbot_bench") as url:
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix="alignbot-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"


def start_bot(
    sandbox: SlackSandbox,
    url: str,
    clock: ManualClock,
    *,
    each_persons_time: bool = False,
    posts_per_minute: int | None = None,
) -> BotRuntime:
    """A bot on `url`, configured as an admin would, with one weekly 3-statement DM pulse (at each
    person's own 10:00 with `each_persons_time`), keeping to `posts_per_minute` (its default unless
    given)."""
    settings = Settings(
        _env_file=None,
        **({"slack_posts_per_minute": posts_per_minute} if posts_per_minute else {}),
        slack_bot_token=sandbox.workspace.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=sandbox.api_url,
        database_url=url,
        log_level="WARNING",
        figures_apart=False,  # what a reading costs, counted here (serve counts in a process of its own)
    )
    runtime = BotRuntime(settings, clock=clock, scheduler=False)
    set_up(runtime.services, sandbox.workspace, each_persons_time=each_persons_time)
    return runtime


def set_up(services: Services, workspace: SandboxWorkspace, *, each_persons_time: bool = False) -> None:
    """A generated workspace set up as its admin would (its #sales and #marketing, Berlin time,
    threshold 5), with one weekly 3-statement DM pulse on Tuesdays at 10:00 (Berlin's, or with
    `each_persons_time` each person's own)."""
    team, admin = workspace.team_id, workspace.users[0].id
    sales, marketing = workspace.channel_by_name("sales").id, workspace.channel_by_name("marketing").id
    config = WorkspaceConfig((sales,), (marketing,), None, "Europe/Berlin", "en", 5, ())
    services.workspaces.save_setup(team, config, admin, "bench-setup")
    recurrence = schedule.Recurrence(
        kind=schedule.WEEKLY,
        local_time=time(10, 0),
        timezone="Europe/Berlin",
        start=date(2026, 3, 2),
        weekdays=frozenset({1}),
        each_persons_time=each_persons_time,
    )
    services.pulses.create(team, CadenceSettings(name="Weekly", recurrence=recurrence), admin)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
