"""The composition root: one running bot, each part built once, in dependency order (settings,
database and migrations, services, jobs, the Bolt app, the connection to Slack); starting it, and
stopping it gracefully."""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import threading
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_sdk import WebClient

from bot.domain.availability import AwayStatuses
from bot.domain.clock import Clock, SystemClock
from bot.domain.question_bank import load_bank
from bot.jobs.digests import DigestRunner
from bot.jobs.meeting_reminders import MeetingRunner
from bot.jobs.pipeline_sync import PipelineSyncRunner
from bot.jobs.pulse_rounds import PulseRunner
from bot.jobs.retention import RetentionRunner
from bot.jobs.scheduler import Scheduler
from bot.runtime.app import build_app
from bot.runtime.background import TrackedExecutor
from bot.runtime.counting import CountingApart
from bot.runtime.drain import Drainer
from bot.runtime.invalidation import SettingsListener
from bot.runtime.leadership import LEADER_CONNECTION, leadership_for
from bot.runtime.metrics import Metrics
from bot.runtime.server import create_http_server, probes_app, waitress_server
from bot.runtime.settings import ConfigError, Settings
from bot.runtime.startup import SlackAccess, database_faults_explained, open_secrets
from bot.services.action_items import ActionItemService
from bot.services.insights import InsightService
from bot.services.meetings import MeetingService
from bot.services.pipeline import PipelineService
from bot.services.pulses import PulseService
from bot.services.settings_cache import WorkspaceSettingsCache
from bot.services.workspaces import WorkspaceService
from bot.slack.client import PooledSlack, build_client
from bot.slack.installations import Installations
from bot.slack.modal_metadata import MetadataSeal
from bot.slack.pacing import Pacer
from bot.slack.pipeline_presenter import default_pipeline_presenter
from bot.slack.presenters import default_presenter
from handlers.context import Services
from storage import migrate
from storage.db import Database

if TYPE_CHECKING:
    from bot.runtime.socket_mode import MeasuredSocketModeHandler

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
        `socket_mode`, over a connection the bot opens itself (`host`:`port` then serves the probes).
        `scheduler=False` leaves the runners to be called by hand (tests, the demo) and takes no part
        in choosing the process that runs the scheduler (see `bot.runtime.leadership`)."""
        if socket_mode:
            settings.require_socket_mode()
        else:
            settings.require_http_mode()
        self.settings = settings
        clock = clock or SystemClock()
        with database_faults_explained(settings):
            # First, so a second scheduler on one SQLite file is refused before anything else starts.
            self.leadership = (
                leadership_for(settings.effective_database_url, settings.leader_check_seconds)
                if scheduler
                else None
            )
            self.database = Database(settings.effective_database_url)
            migrate.upgrade(self.database.engine)
            open_secrets(settings, self.database)
        self._schema_head = migrate.head_revision()
        self._stopping = False
        self._ended = threading.Event()  # a stop signal, or a fault that ends the process (`_fatal`)
        self._fatal: ConfigError | None = None
        self.metrics = Metrics()
        self.executor = TrackedExecutor(settings.listener_threads)

        metadata_seal = MetadataSeal(settings.server_secret(socket_mode))
        presenter, bank = default_presenter(metadata_seal), load_bank()
        # What requests read about their workspace, kept per workspace and forgotten when it changes.
        self.workspace_settings = WorkspaceSettingsCache(self.database, bank)
        pulses = PulseService(self.database, clock, bank, self.workspace_settings)
        self.metrics.taps_waiting.set_function(lambda: pulses.taps_waiting)
        # On PostgreSQL, changes made through other replicas are heard of (until then it is bypassed).
        self.settings_listener = (
            SettingsListener(settings.effective_database_url, self.workspace_settings)
            if self.database.backend == "postgresql"
            else None
        )
        self.counting = CountingApart(self.database.url) if settings.figures_apart else None
        insights = InsightService(self.database, pulses, self.counting)
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
        self.slack_access = (
            None
            if installations
            else SlackAccess(settings.slack_bot_token, settings.slack_api_url, rejected=self._end)
        )
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
            observe=self.metrics.observe_api_call,
        )
        self.runner = PulseRunner(
            self.database,
            clock,
            pulses,
            presenter,
            slack_for,
            default_language=settings.default_language,
            away_statuses=AwayStatuses.from_setting(settings.away_statuses.split(",")),
            transport=self.slack_transport,
        )
        # Every replica sends what the leader planned (PostgreSQL; on SQLite one process does all).
        self.drainer = (
            Drainer(
                self.runner,
                replicas=lambda: (
                    self.database.sessions_named(LEADER_CONNECTION["application_name"]),
                    self.leadership.session_id if self.leadership else None,
                ),
                observe=self.metrics.observe_drain,
            )
            if scheduler and self.database.engine.dialect.name == "postgresql"
            else None
        )
        self.digests = DigestRunner(
            self.database, clock, insights, presenter, slack_for, transport=self.slack_transport
        )
        self.meetings = MeetingRunner(
            self.database,
            clock,
            meetings,
            presenter,
            bank,
            slack_for,
            default_language=settings.default_language,
            transport=self.slack_transport,
        )
        self.retention = RetentionRunner(self.database, clock, settings.retention_months)
        self.pipeline_sync = PipelineSyncRunner(self.database, clock, settings.hubspot_api_url)
        self.scheduler = (
            Scheduler(
                self.runner,
                self.digests,
                self.meetings,
                self.retention,
                self.pipeline_sync,
                metrics=self.metrics,
            )
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
                self.database,
                clock,
                settings.default_language,
                settings.default_timezone,
                self.workspace_settings,
                pulses.requests,  # one record of which keys were forgotten when, for the process
            ),
            pulses=pulses,
            insights=insights,
            action_items=ActionItemService(self.database, insights),
            meetings=meetings,
            pipeline=PipelineService(self.database, clock),
            pipeline_sync=self.pipeline_sync,
            pipeline_presenter=default_pipeline_presenter(metadata_seal),
            digests=self.digests,
            pulse_runner=self.runner,
            installations=installations,
            schedule_changed=self._schedule_changed if scheduler else _nothing_scheduled_here,
        )
        self.app: App = build_app(
            self.services,
            app_client,
            listener_executor=self.executor,
            transport=self.slack_transport,
        )
        if socket_mode:
            # Here, not at import: over HTTP the WebSocket client (websocket-client) is never loaded.
            from bot.runtime.socket_mode import MeasuredSocketModeHandler
        self.connection: HttpConnection | SocketModeConnection = (
            SocketModeConnection(
                MeasuredSocketModeHandler(self.app, settings.slack_app_token, self.metrics),
                HttpConnection(
                    waitress_server(probes_app(self.database, self.metrics, self.readiness), host, port, 4),
                    serves=" (/healthz, /readyz, /metrics)",
                ),
            )
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
        """Where the probes are served, and in HTTP mode Slack's requests."""
        return self.connection.url

    def start(self) -> BotRuntime:
        """Run the scheduler here, now (SQLite) or once this replica is elected (PostgreSQL); connect."""
        if self.slack_access is not None:
            self.slack_access.check()
        if self.settings_listener is not None:
            self.settings_listener.start()
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
        set_start_up_aside()
        try:
            wait_for_stop_signal(self._ended)
        finally:
            self.stop()
        if self._fatal is not None:
            raise self._fatal

    def _end(self, fault: ConfigError) -> None:
        """A fault found after start-up that no retry can mend (a token Slack rejects): stop, exit 2."""
        self._fatal = fault
        self._ended.set()

    def readiness(self) -> tuple[bool, dict]:
        """/readyz: ready while the database answers at the schema this code expects and takes writes,
        Slack's API has answered the bot token, the bot is not shutting down, and, on the replica that
        leads, while its scheduler runs."""
        details = {"leader": self.leadership is not None and self.leadership.is_leader}
        if self._stopping:
            return False, details | {"reason": "shutting down"}
        try:
            self.database.ping()
            revision = migrate.current_revision(self.database.engine)
            refusal = self.database.write_refusal()
        except Exception as error:  # any failure to answer means not ready
            logger.warning("readiness check failed: %s", error)
            return False, details | {"reason": "database unreachable"}
        if revision != self._schema_head:
            return False, details | {
                "reason": f"schema at {revision or 'empty'}, expected {self._schema_head}"
            }
        if refusal:
            logger.warning("not ready: %s", refusal)
            return False, details | {"reason": refusal}
        if self.slack_access is not None and self.slack_access.problem:
            return False, details | {"reason": self.slack_access.problem}
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
        if self.slack_access is not None:
            self.slack_access.stop()
        self.connection.close()
        if not self.executor.wait_idle(timeout=LISTENER_GRACE_SECONDS):
            logger.warning("listeners still running after %s s; waiting for them", LISTENER_GRACE_SECONDS)
        self.executor.shutdown(wait=True)
        if self.drainer is not None:
            self.drainer.stop()
        if self.leadership is not None:
            self.leadership.stop()
        if self.settings_listener is not None:
            self.settings_listener.stop()
        self.slack_transport.close()
        if self.counting is not None:
            self.counting.close()
        self.database.dispose()

    def __enter__(self) -> BotRuntime:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def set_start_up_aside() -> None:
    """Collect start-up's garbage, then set everything still alive aside for good (`gc.freeze`).

    What start-up built (Bolt's app, the templates, the statements, the SQL) lives as long as the
    process, yet every full collection walked it again: under a burst of taps they held every thread
    for up to 165 ms, a stall each person tapping then waited out. Set aside, it is never walked again:
    15-30 ms (`bench.tap_latency`). Only once, after start-up: what comes later is collected as ever."""
    gc.collect()
    gc.freeze()


def _nothing_scheduled_here() -> None:
    """Without a scheduler (tests, the demo) the runners are called by hand: nothing to re-plan."""


class HttpConnection:
    """Slack's requests at /slack/events, and the platform's probes, served by waitress in a thread."""

    def __init__(self, server, serves: str = "/slack/events") -> None:
        self.server = server
        self.serves = serves
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def open(self) -> None:
        self._thread = threading.Thread(target=self.server.run, name="alignbot-http", daemon=True)
        self._thread.start()
        logger.info("alignbot listening on %s%s", self.url, self.serves)

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
    """Slack's requests over a WebSocket the bot opens with the app-level token (no signature; see
    `bot.runtime.socket_mode`), and the platform's probes over HTTP."""

    def __init__(self, handler: MeasuredSocketModeHandler, probes: HttpConnection) -> None:
        self.handler = handler
        self.probes = probes

    @property
    def url(self) -> str:
        return self.probes.url

    def open(self) -> None:
        self.probes.open()
        self.handler.connect()
        logger.info("alignbot connected to Slack over Socket Mode")

    def close(self) -> None:
        """No new envelopes; the ones being handled are acked; then the probes stop."""
        self.handler.close()
        self.probes.close()


class _StopSignal(Exception):
    """Raised in the main thread by SIGTERM or SIGINT, to end `wait_for_stop_signal`."""


def wait_for_stop_signal(ended: threading.Event) -> None:
    """Block until SIGTERM (what container platforms send to stop a process), SIGINT (Ctrl-C), or
    `ended` is set.

    A second signal during the shutdown that follows is not caught: SIGTERM then ends the
    process at once, and SIGINT raises KeyboardInterrupt.
    """

    def stop(signal_number: int, _frame: object) -> None:
        raise _StopSignal(signal.Signals(signal_number).name)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        ended.wait()
    except _StopSignal as received:
        logger.info("%s received: shutting down", received)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
