"""Starting the whole bot: database, migrations, services, the Bolt app, its HTTP server, the scheduler;
and stopping it gracefully."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from functools import partial

from slack_bolt import App
from slack_sdk import WebClient

from bot.domain.clock import Clock, SystemClock
from bot.jobs.digests import DigestRunner
from bot.jobs.meeting_reminders import MeetingRunner
from bot.jobs.pulse_rounds import PulseRunner
from bot.jobs.retention import RetentionRunner
from bot.jobs.scheduler import Scheduler
from bot.runtime.app import build_app
from bot.runtime.background import TrackedExecutor
from bot.runtime.leadership import leadership_for
from bot.runtime.metrics import Metrics
from bot.runtime.server import create_http_server
from bot.runtime.settings import Settings
from bot.slack.client import build_client
from bot.slack.installations import Installations
from bot.slack.presenters import default_presenter
from handlers.context import Services
from storage import migrate
from storage.db import Database

logger = logging.getLogger(__name__)

LISTENER_GRACE_SECONDS = 30.0


class BotRuntime:
    """One running bot. `start()` serves HTTP in a background thread; `serve_forever()` in this one."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        scheduler: bool = True,
    ):
        """`scheduler=False` leaves the pulse runner to be called by hand (tests, the demo) and
        takes no part in choosing the process that runs the scheduler (see `bot.runtime.leadership`)."""
        self.settings = settings
        self.leadership = (
            leadership_for(settings.effective_database_url, settings.leader_check_seconds)
            if scheduler
            else None
        )
        self.database = Database(settings.effective_database_url)
        migrate.upgrade(self.database.engine)
        self._schema_head = migrate.head_revision()
        self._stopping = False
        self.metrics = Metrics()
        self.services = Services(settings, self.database, default_presenter(), clock or SystemClock())
        self.executor = TrackedExecutor()
        if settings.oauth:
            new_client = partial(
                build_client, api_url=settings.slack_api_url, observer=self.metrics.api_call_observer()
            )
            self.services.installations = Installations(
                (settings.slack_client_id, settings.slack_client_secret, settings.slack_redirect_uri),
                self.database,
                self.services.clock,
                new_client,
            )
        self.app: App = build_app(self.services, self.metrics, listener_executor=self.executor)
        self.runner = PulseRunner(
            self.database,
            self.services.clock,
            self.services.pulses,
            self.services.presenter,
            slack_for=self._slack_for,
            default_language=settings.default_language,
        )
        self.digests = DigestRunner(
            self.database,
            self.services.clock,
            self.services.insights,
            self.services.presenter,
            slack_for=self._slack_for,
        )
        self.services.digests = self.digests
        self.meetings = MeetingRunner(
            self.database,
            self.services.clock,
            self.services.meetings,
            self.services.presenter,
            self.services.bank,
            slack_for=self._slack_for,
            default_language=settings.default_language,
        )
        self.retention = RetentionRunner(self.database, self.services.clock, settings.retention_months)
        self.scheduler = (
            Scheduler(self.runner, self.digests, self.meetings, self.retention, metrics=self.metrics)
            if scheduler
            else None
        )
        if self.scheduler is not None:
            self.services.schedule_changed = self._schedule_changed
        self.server = create_http_server(
            self.app, self.database, self.metrics, self.readiness, host=host, port=port
        )
        self._thread: threading.Thread | None = None

    def _slack_for(self, team_id: str) -> WebClient:
        """The client the scheduled work uses in a workspace: its installation's (OAuth), or the app's."""
        installations = self.services.installations
        return installations.client_for(team_id) if installations else self.app.client

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def start(self) -> BotRuntime:
        self.start_scheduler()
        self._thread = threading.Thread(target=self.server.run, name="alignbot-http", daemon=True)
        self._thread.start()
        return self

    def start_scheduler(self) -> None:
        """Run the scheduler here, now (SQLite) or once this replica is elected (PostgreSQL)."""
        if self.leadership is not None:
            self.leadership.start(elected=self._lead, deposed=self._stop_leading, woken=self.scheduler.wake)

    def _lead(self) -> None:
        self.runner.stopping.clear()
        self.scheduler.start()
        self.metrics.leader.set(1)

    def _stop_leading(self) -> None:
        self.metrics.leader.set(0)
        self.runner.stopping.set()
        self.scheduler.shutdown()

    def _schedule_changed(self) -> None:
        """An admin changed a cadence: the scheduler re-plans now, here or on the replica that leads."""
        if self.scheduler.running:
            self.scheduler.wake()
        else:
            self.leadership.wake_leader()

    def serve_forever(self) -> None:
        """Serve until SIGTERM or SIGINT, then shut down gracefully (see `stop`)."""
        self.start()
        logger.info("alignbot listening on %s/slack/events", self.url)
        try:
            wait_for_stop_signal()
        finally:
            self.stop()

    def readiness(self) -> tuple[bool, dict]:
        """/readyz: ready while the database answers at the schema this code expects, not shutting
        down, and, on the replica that leads, while its scheduler runs."""
        details = {"leader": self.leadership is not None and self.leadership.is_leader}
        if self._stopping:
            return False, details | {"reason": "shutting down"}
        try:
            self.database.ping()
            revision = migrate.current_revision(self.database.engine)
        except Exception as error:  # any failure to answer means not ready
            logger.warning("readiness check failed: %s", error)
            return False, details | {"reason": "database unreachable"}
        if revision != self._schema_head:
            return False, details | {
                "reason": f"schema at {revision or 'empty'}, expected {self._schema_head}"
            }
        if details["leader"] and not self.scheduler.running:
            return False, details | {"reason": "the scheduler is not running"}
        return True, details

    def wait_idle(self, timeout: float = 30.0) -> bool:
        return self.executor.wait_idle(timeout)

    def stop(self) -> None:
        """Shut down gracefully: /readyz turns 503; the HTTP server takes no new connections and
        answers the requests in flight; listeners finish their work; the scheduler finishes its run
        (pulse sending stops after the batch in flight) and the lead passes to another replica;
        then the database closes. A message claimed but never confirmed stays recoverable: the
        next run looks for it in Slack before sending it again (see `bot.jobs.pulse_rounds`)."""
        if self._stopping:
            return
        self._stopping = True
        self.runner.stopping.set()
        self._stop_http()
        if not self.executor.wait_idle(timeout=LISTENER_GRACE_SECONDS):
            logger.warning("listeners still running after %s s; waiting for them", LISTENER_GRACE_SECONDS)
        self.executor.shutdown(wait=True)
        if self.leadership is not None:
            self.leadership.stop()
        self.database.dispose()

    def _stop_http(self) -> None:
        try:
            if self._thread is None or not self._thread.is_alive():
                raise OSError("the server loop is not running")
            self.server.trigger.pull_trigger(self.server.close)  # closes in the server loop, waking it
        except OSError:  # the loop ended, or closed itself after an error: close what is left
            with contextlib.suppress(OSError):
                self.server.close()
        self.server.task_dispatcher.shutdown()  # waits (up to 5 s) for the requests being handled
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> BotRuntime:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


class _StopSignal(Exception):
    """Raised in the main thread by SIGTERM or SIGINT, to end `wait_for_stop_signal`."""


def wait_for_stop_signal() -> None:
    """Block until SIGTERM (what container platforms send to stop a process) or SIGINT (Ctrl-C).

    A second signal during the shutdown that follows is not caught: SIGTERM then ends the
    process at once, and SIGINT raises KeyboardInterrupt.
    """

    def stop(signal_number: int, _frame: object) -> None:
        raise _StopSignal(signal.Signals(signal_number).name)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        threading.Event().wait()
    except _StopSignal as received:
        logger.info("%s received: shutting down", received)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
