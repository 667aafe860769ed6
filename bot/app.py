"""The one place the Bolt app is assembled: client, middleware, listeners."""

from __future__ import annotations

import logging
from concurrent.futures import Executor

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

import handlers
from bot.metrics import Metrics
from bot.services import Services

logger = logging.getLogger(__name__)


#: Methods that must not be sent twice: after a dropped connection Slack may already have acted.
NOT_IDEMPOTENT = ("chat.postMessage", "chat.postEphemeral", "files.completeUploadExternal")


class _SparingPosts:
    """Leaves calls that post a message to the caller: a dropped connection or a 5xx may come
    after Slack already posted, and slack_sdk's handlers would post it again. Pulse deliveries
    look such messages up by their metadata instead (see `bot.pulse_runner`)."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if request.url.rstrip("/").rsplit("/", 1)[-1] in NOT_IDEMPOTENT:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


class SafeConnectionErrorRetryHandler(_SparingPosts, ConnectionErrorRetryHandler):
    """Retries dropped connections, except for posts."""


class SafeServerErrorRetryHandler(_SparingPosts, ServerErrorRetryHandler):
    """Retries Slack's 5xx answers, except for posts."""


def build_client(
    token: str | None, api_url: str, timeout: int = 30, observer: RetryHandler | None = None
) -> WebClient:
    """A Web API client that waits out 429s and retries 5xx and (safely) dropped connections.

    Bolt copies these retry handlers into the client each request gets, so listeners
    inherit them; they sleep inside the call, which is why nothing rate-limited runs
    before `ack()`. An `observer` goes first and sees every attempt (for the metrics).
    """
    return WebClient(
        token=token,
        base_url=api_url,
        timeout=timeout,
        retry_handlers=[
            *([observer] if observer else []),
            SafeConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
            SafeServerErrorRetryHandler(max_retry_count=3),
        ],
    )


def build_app(services: Services, metrics: Metrics, listener_executor: Executor | None = None) -> App:
    """One workspace with the bot token, or, when `services.installations` is set, every workspace that
    installs the app through Slack's OAuth flow, each request authorized with its workspace's token."""
    settings = services.settings
    settings.require_http_mode()
    installations = services.installations
    many_workspaces = (
        {}
        if installations is None
        else {
            "oauth_settings": installations.oauth_settings(installed=lambda: services.schedule_changed()),
            "authorize": installations.authorize(),
        }
    )
    app = App(
        client=build_client(
            None if installations else settings.slack_bot_token,
            settings.slack_api_url,
            observer=metrics.api_call_observer(),
        ),
        signing_secret=settings.slack_signing_secret,
        process_before_response=False,
        listener_executor=listener_executor,
        **many_workspaces,
    )

    @app.middleware
    def provide_services(context: BoltContext, next) -> None:
        context["services"] = services
        next()

    @app.middleware
    def drop_event_retries(body: dict, context: BoltContext, next) -> BoltResponse | None:
        """Slack re-sends an event it thinks we missed; act on each event id once."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not services.workspaces.claim_request(context.team_id or "", f"event:{event_id}"):
            logger.info("event %s already handled (retry %s): skipped", event_id, body.get("retry_attempt"))
            return BoltResponse(status=200, body="")
        next()
        return None

    handlers.register_all(app, many_workspaces=installations is not None)
    return app
