"""The bot as a real process: `alignbot serve --http`, or a replica on a clock the test chooses.

Each process runs in its own folder (so no `.env` is read), takes its settings from the
environment as in production, logs JSON to a file the test can read, and listens on a port
it picks itself (found in its "listening on" log line).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.sandbox.server import SlackSandbox
from storage.db import scratch_postgres_database
from tests.conversation import DATABASES, POSTGRES_URL, SIGNING_SECRET

REPO = Path(__file__).resolve().parents[1]
SERVE = ["-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1", "--port", "0"]
SERVE_SOCKET_MODE = ["-m", "bot.cli", "serve", "--socket", "--host", "127.0.0.1", "--port", "0"]
#: What `alignbot serve --http` does, on a clock that runs from a chosen instant (a replica's
#: view of a test's simulated week).
REPLICA = """
import sys
from datetime import datetime, timedelta

from bot.runtime.settings import Settings
from bot.runtime.logs import configure_logging
from bot.runtime.process import BotRuntime
from tests.processes import RunningClock

settings = Settings()
configure_logging(settings)
BotRuntime(settings, clock=RunningClock(datetime.fromisoformat(sys.argv[1]))).serve_forever()
"""
#: What a serving bot logs: where its HTTP server is (Slack's requests, or in Socket Mode the probes).
LISTENING = re.compile(r"listening on (http://[0-9.]+:[0-9]+)")


class RunningClock:
    """Time that passes as real time does, from a chosen start: what a scheduler lives in."""

    def __init__(self, start):
        self.start, self.started = start, time.monotonic()

    def now(self):
        return self.start + timedelta(seconds=time.monotonic() - self.started)


#: Linux capabilities that let root read and write whatever a file's mode says (capability.h).
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2
PR_CAPBSET_DROP = 24


def bound_by_file_modes() -> None:
    """Run in a child before it starts the bot: as root, drop the capabilities that ignore file modes,
    so a read-only folder or an unreadable file is what it is for anyone else (as another user, nothing
    to do)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def alignbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, modes_bind: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the `alignbot` command line in `cwd`, with no Slack or database settings but `env`'s;
    `modes_bind` makes file modes bind it even as root (see `bound_by_file_modes`)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "DEFAULT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang, not a speed limit (the demo runs for a minute or more)
        preexec_fn=bound_by_file_modes if modes_bind else None,
    )


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A database of its own on the test PostgreSQL server, for tests that only make sense there."""
    if "postgresql" not in DATABASES:
        pytest.skip("PostgreSQL is not among ALIGNBOT_TEST_DATABASES")
    with scratch_postgres_database(POSTGRES_URL, prefix="alignbot_test") as url:
        yield url


def bot_environment(sandbox: SlackSandbox, database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a bot process: the sandbox's credentials, the database, JSON logs, and no
    pacing ahead (the sandbox has no limits unless a test sets them: see `conftest.settings`)."""
    inherited = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    return {
        **inherited,
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": sandbox.workspace.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": sandbox.api_url,
        "DATABASE_URL": database_url,
        "LOG_FORMAT": "json",
        "SLACK_PACE_AHEAD": "false",
        **{name.upper(): value for name, value in settings.items()},
    }


class BotProcess:
    """One bot process; `stop()` kills whatever is left of it."""

    def __init__(
        self, arguments: list[str], environment: dict[str, str], folder: Path, modes_bind: bool = False
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / "bot.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=folder,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=bound_by_file_modes if modes_bind else None,
        )
        self.url: str | None = None

    @classmethod
    def serve(cls, environment: dict[str, str], folder: Path, modes_bind: bool = False) -> BotProcess:
        return cls(SERVE, environment, folder, modes_bind)

    @classmethod
    def replica(cls, environment: dict[str, str], folder: Path, clock_start: datetime) -> BotProcess:
        return cls(["-c", REPLICA, clock_start.isoformat()], environment, folder)

    def log(self) -> str:
        return self.log_path.read_text()

    def log_entries(self) -> list[dict]:
        """Every log line, parsed: a line that is not JSON fails the test here."""
        return [json.loads(line) for line in self.log().splitlines() if line.strip()]

    def wait_listening(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while (found := LISTENING.search(self.log())) is None:
            assert self.process.poll() is None, f"the bot exited early:\n{self.log()}"
            assert time.monotonic() < deadline, f"the bot never listened:\n{self.log()}"
            time.sleep(0.05)  # waiting on another process, not on the clock
        self.url = found.group(1)
        return self.url

    def wait_exit(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


def readiness(url: str) -> tuple[int, dict]:
    """/readyz: its HTTP status and JSON body."""
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def metrics_of(url: str) -> dict[tuple[str, tuple], float]:
    """/metrics, parsed: (sample name, its labels sorted) -> value."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain")
        exposition = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def wait_until(condition, timeout: float, message: str) -> float:
    """Poll `condition` (another process's doing) until true; the seconds it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, message
        time.sleep(0.05)
    return time.monotonic() - started
