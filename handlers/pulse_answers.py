"""What members do with a pulse: tap a rating, choose their department, write a comment."""

from __future__ import annotations

import logging
import re

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.vocabulary import DEPARTMENTS
from bot.services.pulses import PulseView
from handlers.common import (
    fetch_user,
    field_errors,
    input_state,
    open_comment_modal,
    services_of,
    view_metadata,
)
from handlers.context import Services

logger = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(re.compile(r"^pulse_answer:"))(handle_answer)
    app.action(re.compile(r"^pulse_department:"))(handle_department)
    app.action(re.compile(r"^pulse_preview:"))(handle_preview_tap)
    app.action("pulse_comment")(handle_comment_button)
    app.view("pulse_comment")(handle_comment_submission)


def _workspace_render(services: Services, team_id: str, view: PulseView) -> dict:
    return services.renderer.render(
        "pulse_message", view.language, view=view, threshold=services.workspaces.threshold(team_id)
    )


def _is_channel_post(body: dict) -> bool:
    return not str((body.get("channel") or {}).get("id", "")).startswith("D")


def handle_answer(ack: Ack, body: dict, context: BoltContext, respond: Respond) -> None:
    """A tap: stored (again if tapped again), then shown in place in a DM, or ephemerally in a channel."""
    ack()
    services = services_of(context)
    round_id, item_id, score = _parse_value(body["actions"][0].get("value", ""))
    user_id = body["user"]["id"]
    outcome = services.pulses.answer(context.team_id, user_id, round_id, item_id, score)
    if outcome.status == "saved" and not _is_channel_post(body):
        respond(replace_original=True, **_workspace_render(services, context.team_id, outcome.view))
        return
    language = outcome.view.language if outcome.view else "en"
    reply = services.renderer.render(
        "pulse_tap_reply", language, outcome=outcome.status, view=outcome.view, statement=outcome.statement
    )
    respond(replace_original=False, response_type="ephemeral", **reply)


def handle_department(ack: Ack, body: dict, context: BoltContext, respond: Respond) -> None:
    ack()
    services = services_of(context)
    department = body["actions"][0]["action_id"].split(":", 1)[1]
    round_id = _int(body["actions"][0].get("value"))
    user_id = body["user"]["id"]
    if department not in DEPARTMENTS:
        return
    view = services.pulses.choose_department(context.team_id, user_id, round_id, department)
    language = view.language if view else "en"
    if view is None:
        reply = services.renderer.render(
            "pulse_tap_reply", language, outcome="not_asked", view=None, statement=None
        )
        respond(replace_original=False, response_type="ephemeral", **reply)
    elif _is_channel_post(body):
        reply = services.renderer.render("notice", language, kind="department_set", department=department)
        respond(replace_original=False, response_type="ephemeral", **reply)
    else:
        respond(replace_original=True, **_workspace_render(services, context.team_id, view))


def handle_preview_tap(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    language = services.workspaces.language_for(context.team_id, fetch_user(client, body["user"]["id"]))
    reply = services.renderer.render(
        "pulse_tap_reply", language, outcome="preview", view=None, statement=None
    )
    respond(replace_original=False, response_type="ephemeral", **reply)


def handle_comment_button(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    round_id = _int(body["actions"][0].get("value"))
    user_id = body["user"]["id"]
    language = services.pulses.language_of(context.team_id, round_id, user_id) or "en"
    open_comment_modal(
        body,
        client,
        services,
        respond,
        "pulse_comment_modal",
        language,
        text=services.pulses.comment_text(context.team_id, round_id, user_id) or "",
        threshold=services.workspaces.threshold(context.team_id),
        metadata={"round_id": round_id},
    )


def handle_comment_submission(
    ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext
) -> None:
    services = services_of(context)
    metadata = view_metadata(view)
    round_id, user_id = _int(metadata.get("round_id")), body["user"]["id"]
    text = str(input_state(view["state"]["values"], "comment").get("value") or "").strip()
    language = services.pulses.language_of(context.team_id, round_id, user_id) or "en"
    if not text:
        ack(**field_errors(services, language, {"comment": "comment_required"}))
        return
    ack()
    pulse_view = services.pulses.comment(context.team_id, user_id, round_id, text[:1000])
    kind = "comment_saved" if pulse_view is not None else "comment_closed"
    client.chat_postMessage(channel=user_id, **services.renderer.render("notice", language, kind=kind))
    channel, ts = metadata.get("channel"), metadata.get("ts")
    if pulse_view is not None and channel and ts and str(channel).startswith("D"):
        try:
            client.chat_update(
                channel=channel, ts=ts, **_workspace_render(services, context.team_id, pulse_view)
            )
        except SlackApiError as error:
            logger.warning(
                "could not mark the comment on round %s: %s", round_id, error.response.get("error")
            )


def _parse_value(value: str) -> tuple[int, str, int]:
    round_id, _, rest = value.partition(":")
    item_id, _, score = rest.rpartition(":")
    return _int(round_id), item_id, _int(score)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
