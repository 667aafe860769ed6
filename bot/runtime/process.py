"""The composition root: one running bot, each part built once, in dependency order (settings,
database and migrations, services, jobs, the Bolt app, the connection to Slack); starting it, and
stopping it gracefully."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from bot.domain.clock import Clock, SystemClock
from bot.domain.question_bank import load_bank
from bot.jobs.digests import DigestRunner
from bot.jobs.meeting_reminders import MeetingRunner
from bot.jobs.pulse_rounds import PulseRunner
from bot.jobs.retention import RetentionRunner
from bot.jobs.scheduler import Scheduler
from bot.runtime.app import build_app
from bot.runtime.background import TrackedExecutor
from bot.runtime.drain import Drainer
from bot.runtime.leadership import leadership_for
from bot.runtime.metrics import Metrics
from bot.runtime.server import create_http_server
from bot.runtime.settings import Settings
from bot.services.insights import InsightService
from bot.services.meetings import MeetingService
from bot.services.pulses import PulseService
from bot.services.workspaces import WorkspaceService
from bot.slack.client import PooledSlack, build_client
from bot.slack.installations import Installations
from bot.slack.modal_metadata import MetadataSeal
from bot.slack.pacing import Pacer
from bot.slack.presenters import default_presenter
from handlers.context import Services
from storage import migrate
from storage.db import Database

logger = logging.getLogger(__name__)

LISTENER_GRACE_SECONDS = 30.0


class BotRuntime:
    """One running bot. `start()` connects it to Slack in the background; `serve_forever()` until a signal."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        scheduler: bool = True,
        socket_mode: bool = False,
    ):
        """Slack reaches the bot over HTTP at `host`:`port` (port 0 picks a free one), or, with
        `socket_mode`, over a connection the bot opens itself. `scheduler=False` leaves the runners to
        be called by hand (tests, the demo) and takes no part in choosing the process that runs the
        scheduler (see `bot.runtime.leadership`)."""
        if socket_mode:
            settings.require_socket_mode()
        else:
            settings.require_http_mode()
        self.settings = settings
        clock = clock or SystemClock()
        # First, so a second scheduler on one SQLite file is refused before anything else starts.
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
        self.executor = TrackedExecutor()

        metadata_seal = MetadataSeal(settings.server_secret(socket_mode))
        presenter, bank = default_presenter(metadata_seal), load_bank()
        pulses = PulseService(self.database, clock, bank)
        insights = InsightService(self.database, pulses)
        meetings = MeetingService(self.database, clock, insights)
        installations = (
            Installations(
                (settings.slack_client_id, settings.slack_client_secret, settings.slack_redirect_uri),
                self.database,
                clock,
                self._new_client,
            )
            if settings.oauth
            else None
        )
        app_client = self._new_client(None if installations else settings.slack_bot_token)
        # What the scheduled work sends with: each workspace's installation (OAuth), or the bot token.
        slack_for = installations.client_for if installations else lambda _team_id: app_client

        # Every scheduled post and edit goes through one paced transport (limits are per workspace).
        self.slack_transport = PooledSlack(
            slack_for,
            Pacer(
                settings.slack_posts_per_minute,
                settings.slack_distributed_app,
                ahead=settings.slack_pace_ahead,
            ),
        )
        self.runner = PulseRunner(
            self.database,
            clock,
            pulses,
            presenter,
            slack_for,
            default_language=settings.default_language,
            transport=self.slack_transport,
        )
        # Every replica sends what the leader planned (PostgreSQL; on SQLite one process does all).
        self.drainer = (
            Drainer(self.runner) if scheduler and self.database.engine.dialect.name == "postgresql" else None
        )
        self.digests = DigestRunner(self.database, clock, insights, presenter, slack_for)
        self.meetings = MeetingRunner(
            self.database,
            clock,
            meetings,
            presenter,
            bank,
            slack_for,
            default_language=settings.default_language,
        )
        self.retention = RetentionRunner(self.database, clock, settings.retention_months)
        self.scheduler = (
            Scheduler(self.runner, self.digests, self.meetings, self.retention, metrics=self.metrics)
            if scheduler
            else None
        )

        self.services = Services(
            database=self.database,
            presenter=presenter,
            metadata_seal=metadata_seal,
            clock=clock,
            bank=bank,
            workspaces=WorkspaceService(
                self.database, clock, settings.default_language, settings.default_timezone
            ),
            pulses=pulses,
            insights=insights,
            meetings=meetings,
            digests=self.digests,
            installations=installations,
            schedule_changed=self._schedule_changed if scheduler else _nothing_scheduled_here,
        )
        self.app: App = build_app(
            self.services,
            app_client,
            signing_secret=None if socket_mode else settings.slack_signing_secret,
            listener_executor=self.executor,
        )
        self.connection: HttpConnection | SocketModeConnection = (
            SocketModeConnection(self.app, settings.slack_app_token)
            if socket_mode
            else HttpConnection(
                create_http_server(
                    self.app,
                    settings.slack_signing_secret,
                    self.database,
                    self.metrics,
                    self.readiness,
                    host,
                    port,
                )
            )
        )

    def _new_client(self, token: str | None) -> WebClient:
        """A Web API client for the bot token given: Slack's API URL, its retries, the metrics."""
        return build_client(token, self.settings.slack_api_url, observer=self.metrics.api_call_observer())

    @property
    def url(self) -> str:
        """Where Slack's requests and the probes are served (HTTP mode)."""
        return self.connection.url

    def start(self) -> BotRuntime:
        """Run the scheduler here, now (SQLite) or once this replica is elected (PostgreSQL); connect."""
        if self.leadership is not None:
            self.leadership.start(elected=self._lead, deposed=self._stop_leading, woken=self.scheduler.wake)
        if self.drainer is not None:
            self.drainer.start()
        self.connection.open()
        return self

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
        """Shut down gracefully: /readyz turns 503; the connection to Slack closes (the HTTP server
        first answers the requests in flight); listeners finish their work; the scheduler finishes its run
        (pulse sending stops after the batch in flight) and the lead passes to another replica;
        then the database closes. A message claimed but never confirmed stays recoverable: the
        next run looks for it in Slack before sending it again (see `bot.slack.outbox`)."""
        if self._stopping:
            return
        self._stopping = True
        self.runner.stopping.set()
        self.connection.close()
        if not self.executor.wait_idle(timeout=LISTENER_GRACE_SECONDS):
            logger.warning("listeners still running after %s s; waiting for them", LISTENER_GRACE_SECONDS)
        self.executor.shutdown(wait=True)
        if self.drainer is not None:
            self.drainer.stop()
        if self.leadership is not None:
            self.leadership.stop()
        self.slack_transport.close()
        self.database.dispose()

    def __enter__(self) -> BotRuntime:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def _nothing_scheduled_here() -> None:
    """Without a scheduler (tests, the demo) the runners are called by hand: nothing to re-plan."""


class HttpConnection:
    """Slack's requests at /slack/events, and the platform's probes, served by waitress in a thread."""

    def __init__(self, server) -> None:
        self.server = server
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def open(self) -> None:
        self._thread = threading.Thread(target=self.server.run, name="alignbot-http", daemon=True)
        self._thread.start()
        logger.info("alignbot listening on %s/slack/events", self.url)

    def close(self) -> None:
        """Take no new connections and answer the requests in flight."""
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


class SocketModeConnection:
    """Slack's requests over a WebSocket the bot opens with the app-level token: no port, no signature."""

    def __init__(self, app: App, app_token: str) -> None:
        self.handler = SocketModeHandler(app, app_token)

    def open(self) -> None:
        self.handler.connect()
        logger.info("alignbot connected to Slack over Socket Mode")

    def close(self) -> None:
        self.handler.close()


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
