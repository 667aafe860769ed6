"""Starting the whole bot: database, migrations, services, the Bolt app, its HTTP server, the scheduler."""

from __future__ import annotations

import contextlib
import logging
import threading

from slack_bolt import App

from bot.app import build_app
from bot.background import TrackedExecutor
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.digest_runner import DigestRunner
from bot.pulse_runner import PulseRunner
from bot.rendering import default_renderer
from bot.scheduler import Scheduler
from bot.server import create_http_server
from bot.services import Services
from storage import migrate
from storage.db import Database

logger = logging.getLogger(__name__)


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
        """`scheduler=False` leaves the pulse runner to be called by hand (tests, the demo)."""
        self.settings = settings
        self.database = Database(settings.effective_database_url)
        migrate.upgrade(self.database.engine)
        self.services = Services(settings, self.database, default_renderer(), clock or SystemClock())
        self.executor = TrackedExecutor()
        self.app: App = build_app(self.services, listener_executor=self.executor)
        self.runner = PulseRunner(
            self.database,
            self.services.clock,
            self.services.pulses,
            self.services.renderer,
            slack_for=lambda _team_id: self.app.client,
            default_language=settings.default_language,
        )
        self.digests = DigestRunner(
            self.database,
            self.services.clock,
            self.services.insights,
            self.services.renderer,
            slack_for=lambda _team_id: self.app.client,
        )
        self.services.digests = self.digests
        self.scheduler = Scheduler(self.runner, self.digests) if scheduler else None
        if self.scheduler is not None:
            self.services.schedule_changed = self.scheduler.wake
        self.server = create_http_server(self.app, self.database, host=host, port=port)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def start(self) -> BotRuntime:
        self.start_scheduler()
        self._thread = threading.Thread(target=self.server.run, name="alignbot-http", daemon=True)
        self._thread.start()
        return self

    def start_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.start()

    def serve_forever(self) -> None:
        self.start_scheduler()
        logger.info("alignbot listening on %s/slack/events", self.url)
        try:
            self.server.run()
        except KeyboardInterrupt:
            logger.info("shutting down")
        finally:
            self.stop()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        return self.executor.wait_idle(timeout)

    def stop(self) -> None:
        """Stop taking requests and scheduling, let the work in flight finish, then close the database."""
        if self.scheduler is not None:
            self.scheduler.shutdown()
        try:
            if self._thread is None or not self._thread.is_alive():
                raise OSError("the server loop is not running")
            self.server.trigger.pull_trigger(self.server.close)  # closes in the server loop, waking it
        except OSError:  # the loop ended, or closed itself after an error: close what is left
            with contextlib.suppress(OSError):
                self.server.close()
        self.server.task_dispatcher.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.executor.wait_idle(timeout=30)
        self.executor.shutdown(wait=True)
        self.database.dispose()

    def __enter__(self) -> BotRuntime:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
