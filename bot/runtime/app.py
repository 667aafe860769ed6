"""The one place the Bolt app is assembled: client, middleware, listeners."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext, BoltResponse
from slack_sdk import WebClient

import handlers
from bot.runtime.background import TrackedExecutor
from bot.slack.client import PooledSlack
from bot.slack.respond import PooledRespond
from handlers.context import Services
from handlers.middleware import refuse_forged_metadata
from handlers.pulse_answers import CLAIMS_ITS_OWN_TRIGGER, REQUEST_KEY

logger = logging.getLogger(__name__)


def build_app(
    services: Services,
    client: WebClient,
    listener_executor: TrackedExecutor,
    transport: PooledSlack,
) -> App:
    """One workspace with `client`'s bot token, or, when `services.installations` is set, every workspace
    that installs the app through Slack's OAuth flow, each request authorized with its workspace's token.

    Bolt does not verify signatures: over HTTP the door (`bot.runtime.edge`) has verified each request on
    its raw bytes before Bolt sees it (a second HMAC of a tap's 8 KiB was a thread handoff more per tap);
    Socket Mode's requests come over the connection the bot itself opened with the app-level token.

    Listeners run on `listener_executor`; their `respond()` posts go through `transport`'s pooled
    connections without holding the listener's thread (see `bot.slack.respond`)."""
    installations = services.installations
    many_workspaces = (
        {}
        if installations is None
        else {
            "oauth_settings": installations.oauth_settings(installed=services.schedule_changed),
            "authorize": installations.authorize(),
        }
    )
    app = App(
        client=client,
        request_verification_enabled=False,
        process_before_response=False,
        # Slack's API is checked at start by `bot.runtime.startup.SlackAccess`, which waits out an outage.
        token_verification_enabled=False,
        listener_executor=listener_executor,
        **many_workspaces,
    )

    @app.middleware
    def admit(body: dict, client: WebClient, context: BoltContext, next) -> BoltResponse | None:
        """The services, Bolt's `ack` and `respond` as the listeners get them; then the requests Slack
        sent before are answered and dropped, and so are modals whose metadata was forged. (One
        middleware, not four: Bolt works out each one's arguments on every request.)"""
        context["services"] = services
        context["ack"] = SteadyAck()
        context["respond"] = PooledRespond(context.response_url, transport, listener_executor.track)
        if _retried_event(body, context) or _replayed(body, context):
            return BoltResponse(status=200, body="")
        return refuse_forged_metadata(body, client, context, next)

    def _retried_event(body: dict, context: BoltContext) -> bool:
        """Slack re-sends an event it thinks we missed; act on each event id once."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not services.workspaces.claim_request(context.team_id or "", f"event:{event_id}"):
            logger.info("event %s already handled (retry %s): skipped", event_id, body.get("retry_attempt"))
            return True
        return False

    def _replayed(body: dict, context: BoltContext) -> bool:
        """Slack gives every slash command and interaction a trigger id of its own, so one seen before
        is the same signed request sent again (a signature stays valid five minutes): acknowledged,
        and nothing done, whichever replica it reaches."""
        trigger_id = body.get("trigger_id")
        team_id = context.team_id or ""
        if trigger_id and _claims_its_own_trigger(body):
            context[REQUEST_KEY] = f"trigger:{trigger_id}"  # claimed after ack, in the tap's transaction
            context.ack()  # Slack is answered from here: Bolt would poll for the listener's ack every 10 ms
        elif trigger_id and not services.workspaces.claim_request(team_id, f"trigger:{trigger_id}"):
            logger.warning("%s from %s sent again: ignored", body.get("type") or "command", context.user_id)
            return True
        return False

    handlers.register_all(app, many_workspaces=installations is not None)
    return app


def _claims_its_own_trigger(body: dict) -> bool:
    """A rating tap: acknowledged before its listener starts, which claims the trigger id in its one
    transaction, so nothing before the answer to Slack waits on the database or on another thread (see
    `handlers.pulse_answers.handle_answer`)."""
    actions = body.get("actions") if body.get("type") == "block_actions" else None
    return bool(actions) and all(
        CLAIMS_ITS_OWN_TRIGGER.match(str(action.get("action_id", ""))) for action in actions
    )


class SteadyAck(Ack):
    """Bolt's `ack`, made to answer Slack at once whatever the listener does after it.

    When a listener raises, Bolt's runner sets the ack's response to a 500, or, if the listener had
    already acknowledged, to None, so a request answered a moment before is waited on for Bolt's 3 s
    and then answered 404 (unhandled). Here an answer once given stays given, and a failure before the
    ack answers 200 with nothing: Slack shows no error page, and the failure is logged by Bolt.
    """

    _response: BoltResponse | None = None

    @property
    def response(self) -> BoltResponse | None:
        return self._response

    @response.setter
    def response(self, answer: BoltResponse | None) -> None:
        if self._response is not None and answer is None:
            return  # the listener raised after acknowledging: Slack keeps that acknowledgement
        if answer is not None and answer.status >= 500:  # the very object Bolt's runner returns
            answer.status, answer.body = 200, ""
        self._response = answer
