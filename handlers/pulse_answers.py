"""What members do with a pulse: tap a rating, choose their department, write a comment."""

from __future__ import annotations

import logging
import re

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.vocabulary import DEPARTMENTS
from handlers.common import (
    department_refusal,
    fetch_user,
    input_state,
    open_modal_for_click,
    services_of,
    view_metadata,
)

logger = logging.getLogger(__name__)


#: The rating taps: their listener claims the request's trigger id itself, in the transaction that
#: stores the tap, instead of the replay check doing it before Slack is answered (`bot.runtime.app`).
CLAIMS_ITS_OWN_TRIGGER = re.compile(r"^pulse_answer:")
#: Where the replay check leaves that key in Bolt's context.
REQUEST_KEY = "request_key"


def register(app: App) -> None:
    app.action(CLAIMS_ITS_OWN_TRIGGER)(handle_answer)
    app.action(re.compile(r"^pulse_department:"))(handle_department)
    app.action(re.compile(r"^pulse_preview:"))(handle_preview_tap)
    app.action("pulse_comment")(handle_comment_button)
    app.view("pulse_comment")(handle_comment_submission)


def _is_channel_post(body: dict) -> bool:
    return not str((body.get("channel") or {}).get("id", "")).startswith("D")


def handle_answer(ack: Ack, body: dict, context: BoltContext, respond: Respond) -> None:
    """A tap: stored (again if tapped again), then shown in place in a DM, or ephemerally in a channel.
    Slack is answered first (by the middleware already, before this listener's thread took the tap up:
    `bot.runtime.app`); the request's trigger id is claimed in the transaction that stores the tap
    (see `CLAIMS_ITS_OWN_TRIGGER`), so a tap sent again changes nothing and is not answered again."""
    ack()
    services = services_of(context)
    round_id, item_id, score = _parse_value(body["actions"][0].get("value", ""))
    user_id = body["user"]["id"]
    request_key = context.get(REQUEST_KEY)
    outcome = services.pulses.answer(context.team_id or "", user_id, round_id, item_id, score, request_key)
    if outcome.status == "replayed":
        logger.warning("a tap by %s sent again (%s): ignored", user_id, request_key)
        return
    language = outcome.view.language if outcome.view else "en"
    if outcome.status == "saved" and not _is_channel_post(body):
        message = services.presenter.pulse_message(language, outcome.view, outcome.threshold)
        respond(replace_original=True, **message)
        return
    reply = services.presenter.pulse_tap_reply(language, outcome.status, outcome.view, outcome.statement)
    respond(replace_original=False, response_type="ephemeral", **reply)


def handle_department(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    department = body["actions"][0]["action_id"].split(":", 1)[1]
    round_id = _int(body["actions"][0].get("value"))
    user_id = body["user"]["id"]
    if department not in DEPARTMENTS:
        return
    language = services.pulses.language_of(context.team_id, round_id, user_id)
    refused = department_refusal(services, client, context.team_id, user_id, language) if language else None
    if refused is not None:
        respond(replace_original=False, response_type="ephemeral", **refused)
        return
    view = services.pulses.choose_department(context.team_id, user_id, round_id, department)
    language = view.language if view else "en"
    if view is None:
        reply = services.presenter.pulse_tap_reply(language, "not_asked", None, None)
        respond(replace_original=False, response_type="ephemeral", **reply)
    elif _is_channel_post(body):
        reply = services.presenter.notice(language, "department_set", department=department)
        respond(replace_original=False, response_type="ephemeral", **reply)
    else:
        threshold = services.workspaces.threshold(context.team_id)
        respond(replace_original=True, **services.presenter.pulse_message(language, view, threshold))


def handle_preview_tap(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    language = services.workspaces.language_for(context.team_id, fetch_user(client, body["user"]["id"]))
    reply = services.presenter.pulse_tap_reply(language, "preview", None, None)
    respond(replace_original=False, response_type="ephemeral", **reply)


def handle_comment_button(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    round_id = _int(body["actions"][0].get("value"))
    user_id = body["user"]["id"]
    language = services.pulses.language_of(context.team_id, round_id, user_id) or "en"
    modal = services.presenter.pulse_comment_modal(
        language,
        services.pulses.comment_text(context.team_id, round_id, user_id) or "",
        services.workspaces.threshold(context.team_id),
        {"round_id": round_id},
    )
    open_modal_for_click(body, client, services, respond, language, modal)


def handle_comment_submission(
    ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext
) -> None:
    services = services_of(context)
    metadata = view_metadata(services, view)
    round_id, user_id = _int(metadata.get("round_id")), body["user"]["id"]
    text = str(input_state(view["state"]["values"], "comment").get("value") or "").strip()
    language = services.pulses.language_of(context.team_id, round_id, user_id) or "en"
    if not text:
        ack(**services.presenter.field_errors(language, {"comment": "comment_required"}))
        return
    ack()
    pulse_view = services.pulses.comment(context.team_id, user_id, round_id, text[:1000])
    kind = "comment_saved" if pulse_view is not None else "comment_closed"
    client.chat_postMessage(channel=user_id, **services.presenter.notice(language, kind))
    dm = services.pulses.dm_of(context.team_id, round_id, user_id) if pulse_view is not None else None
    if dm is not None:
        threshold = services.workspaces.threshold(context.team_id)
        message = services.presenter.pulse_message(pulse_view.language, pulse_view, threshold)
        try:
            client.chat_update(channel=dm[0], ts=dm[1], **message)
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
