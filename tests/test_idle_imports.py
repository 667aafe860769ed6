"""An idle `alignbot serve --http` holds none of the libraries only some of its work needs (issue 13:
idle memory of `serve` at most 100 MB). Checked by the modules the process has loaded, not by a
memory figure, so it holds on any machine: each of these is several MB it would carry for nothing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from storage import migrate
from storage.db import Database
from tests.processes import BotProcess, bot_environment, metrics_of, readiness, wait_until

#: `alignbot serve` as the command line runs it, writing the modules it holds to modules.json on SIGUSR1.
SERVE_REPORTING_MODULES = """
import json, signal, sys
from pathlib import Path

def report(_signal, _frame):
    Path("modules.json.part").write_text(json.dumps(sorted(sys.modules)))
    Path("modules.json.part").rename("modules.json")

signal.signal(signal.SIGUSR1, report)
sys.argv = ["alignbot", "serve", "--http", "--host", "127.0.0.1", "--port", "0"]
from bot.cli import main
sys.exit(main())
"""
#: What only some work loads: a reading (numpy, scipy), a migration (alembic, and mako and pygments
#: through it), a send (aiohttp), a meeting invite (icalendar), a holiday calendar (holidays), stored
#: secrets with a key (cryptography), Socket Mode (websocket), a chart (matplotlib).
LOADED_BY_SOME_WORK = (
    "numpy",
    "scipy",
    "alembic",
    "mako",
    "pygments",
    "aiohttp",
    "icalendar",
    "holidays",
    "cryptography",
    "websocket",
    "matplotlib",
)
#: The scheduler's runners: once each has made its first pass, the server has started everything.
RUNNERS = ("PulseRunner", "DigestRunner", "MeetingRunner", "RetentionRunner", "PipelineSyncRunner")


@pytest.mark.parametrize("schema", ["at head", "empty"])
def test_an_idle_server_holds_no_library_only_some_work_needs(sandbox, database_url, tmp_path, schema):
    """Empty, the schema is upgraded by a child process (`alignbot db upgrade`), not by the server."""
    if schema == "at head":
        database = Database(database_url)
        migrate.upgrade(database.engine)
        database.dispose()
    bot = BotProcess(["-c", SERVE_REPORTING_MODULES], bot_environment(sandbox, database_url), tmp_path)
    try:
        url = bot.wait_listening()
        wait_until(lambda: readiness(url)[0] == 200, 30, "the bot never became ready")
        wait_until(
            lambda: (
                {
                    dict(labels)["runner"]
                    for (name, labels), value in metrics_of(url).items()
                    if name == "alignbot_scheduler_runs_total" and value
                }
                >= set(RUNNERS)
            ),
            30,
            "the scheduler's first pass never ended",
        )
        bot.process.send_signal(signal.SIGUSR1)
        wait_until((tmp_path / "modules.json").exists, 10, "the bot never listed its modules")
    finally:
        bot.stop()
    loaded = {name.partition(".")[0] for name in json.loads((tmp_path / "modules.json").read_text())}
    assert "bot" in loaded and "slack_bolt" in loaded  # the list is the server's
    assert loaded.isdisjoint(LOADED_BY_SOME_WORK), sorted(loaded & set(LOADED_BY_SOME_WORK))
    assert "pydantic" not in loaded  # the settings are read without it (9 MB)
    database = Database(database_url)
    assert migrate.current_revision(database.engine) == migrate.head_revision()
    database.dispose()
    if database_url.startswith("sqlite"):
        assert "psycopg" not in loaded


def packages_loaded_by(script: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running `script` (then `-c`)."""
    report = "\nimport sys\nprint(' '.join(sorted({name.partition('.')[0] for name in sys.modules})))\n"
    return set(
        subprocess.run(
            [sys.executable, "-c", script + report], capture_output=True, text=True, check=True
        ).stdout.split()
    )


def test_a_reading_loads_no_scipy():
    """The score's interval needs a t quantile; scipy's would stay in `serve` once a digest is read (8 MB)."""
    loaded = packages_loaded_by(
        "from bot.domain.scoring import ItemMeta, Response, score\n"
        "rows = [Response(f'{d}{n}', 'A', d, 1 + n % 5) for d in ('sales', 'marketing') for n in range(9)]\n"
        "results = score(rows, {'A': ItemMeta('d', scored=True)}, threshold=3)\n"
        "assert results.composites['everyone'].low is not None\n"
    )
    assert "numpy" in loaded and "scipy" not in loaded, loaded


def test_a_digests_pictures_are_drawn_without_loading_matplotlib_in_the_server():
    """matplotlib and Pillow (about 40 MB) load in the process spawned to draw, never in `serve`."""
    loaded = packages_loaded_by(
        "from datetime import date, timedelta\n"
        "from bot.domain.digest import DimensionRow, TrendPoint\n"
        "from bot.slack.modal_metadata import MetadataSeal\n"
        "from bot.slack.presenters import default_presenter\n"
        "if __name__ == '__main__':\n"
        "    weeks = [date(2026, 1, 5) + timedelta(weeks=n) for n in range(4)]\n"
        "    points = [TrendPoint(week, 50.0, 60.0, 55.0) for week in weeks]\n"
        "    rows = [DimensionRow('planning', 3.2, 3.9, 0.7)]\n"
        "    presenter = default_presenter(MetadataSeal('a secret'))\n"
        "    for language in ('en', 'fa'):\n"
        "        pngs = presenter.digest_pictures(language, points, rows, {'planning': 'Planning'})\n"
        "        assert all(png.startswith(b'\\x89PNG') for png in pngs)\n"
    )
    assert "bot" in loaded and "matplotlib" not in loaded and "PIL" not in loaded, loaded
