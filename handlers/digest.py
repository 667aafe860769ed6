"""`/align digest …`, and what leaders do with the digest's nudges (act on one, or snooze it)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.common import (
    input_state,
    open_modal_for_click,
    selected_values,
    services_of,
    view_metadata,
)
from handlers.middleware import admin_of, require_admin

if TYPE_CHECKING:
    from handlers.common import Invocation

SNOOZE = timedelta(weeks=4)
logger = logging.getLogger(__name__)


def register(app: App) -> None:
    app.view("digest_schedule", middleware=[require_admin])(handle_schedule_submission)
    app.action("nudge_act", middleware=[require_admin])(handle_act_button)
    app.action("nudge_snooze", middleware=[require_admin])(handle_snooze)
    app.view("nudge_act", middleware=[require_admin])(handle_act_submission)


def digest_command(invocation: Invocation) -> dict:
    services, team_id = invocation.services, invocation.team_id
    present, language = invocation.presenter, invocation.language
    action = invocation.parsed.args[0].lower() if invocation.parsed.args else "preview"
    if action == "send":
        outcome = services.digests.send_now(team_id)
        return present.notice(language, f"digest_{outcome}")
    if action == "schedule":
        return _open_schedule(invocation)
    if action != "preview":
        return present.notice(language, "digest_usage")
    config = services.workspaces.config(team_id)
    if config is None:
        return present.notice(language, "setup_first")
    view = services.insights.preview(team_id, config.timezone)
    items, dimensions = services.insights.texts(team_id, language)
    return present.digest(language, view, items, dimensions, config.anonymity_threshold)


def _open_schedule(invocation: Invocation) -> dict | None:
    present, language = invocation.presenter, invocation.language
    config = invocation.services.workspaces.config(invocation.team_id)
    if config is None:
        return present.notice(language, "digest_setup_first")
    settings = invocation.services.insights.digest_settings(invocation.team_id)
    return invocation.open_modal(
        present.digest_schedule_modal(language, settings, config.timezone, {"language": language})
    )


def handle_schedule_submission(ack: Ack, view: dict, client: WebClient, context: BoltContext) -> None:
    services = services_of(context)
    language = str(view_metadata(services, view).get("language", "en"))
    values = view["state"]["values"]
    weekday = str((input_state(values, "weekday").get("selected_option") or {}).get("value") or "")
    local_time = str(input_state(values, "local_time").get("selected_time") or "")
    to_channel = "to_channel" in selected_values(input_state(values, "options"))
    leaders = tuple(input_state(values, "leaders").get("selected_users") or ())
    config = services.workspaces.config(context.team_id)
    errors = {}
    if weekday not in {str(day) for day in range(7)}:
        errors["weekday"] = "bad_weekday"
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", local_time):
        errors["local_time"] = "bad_time"
    if not leaders and not (to_channel and config and config.leadership_channel):
        errors["leaders"] = "digest_nowhere"
    if errors:
        ack(**services.presenter.field_errors(language, errors))
        return
    ack()
    services.insights.schedule_digest(context.team_id, int(weekday), local_time, to_channel, leaders)
    services.schedule_changed()
    client.chat_postMessage(
        channel=admin_of(context).id, **services.presenter.notice(language, "digest_scheduled")
    )


def handle_snooze(ack: Ack, body: dict, context: BoltContext, respond: Respond) -> None:
    ack()
    services, user = services_of(context), admin_of(context)
    language = services.workspaces.language_for(context.team_id, user)
    key = body["actions"][0].get("value", "")[:96]
    services.insights.snooze(context.team_id, key, user.id, SNOOZE)
    reply = services.presenter.notice(language, "nudge_snoozed")
    respond(replace_original=False, response_type="ephemeral", **reply)


def handle_act_button(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    language = services.workspaces.language_for(context.team_id, admin_of(context))
    metadata = {"language": language, "key": body["actions"][0].get("value", "")[:96]}
    modal = services.presenter.nudge_act_modal(language, metadata)
    open_modal_for_click(body, client, services, respond, language, modal)


def handle_act_submission(ack: Ack, view: dict, client: WebClient, context: BoltContext) -> None:
    """Record the nudge as acted on and tell both teams what leaders are doing (once per modal)."""
    services = services_of(context)
    metadata = view_metadata(services, view)
    language, key = str(metadata.get("language", "en")), str(metadata.get("key", ""))
    note = " ".join(str(input_state(view["state"]["values"], "note").get("value") or "").split())
    if not note:
        ack(**services.presenter.field_errors(language, {"note": "comment_required"}))
        return
    ack()
    user = admin_of(context)
    if not services.workspaces.claim_request(context.team_id, f"view:{view['id']}"):
        return
    services.insights.act_on(context.team_id, key, user.id, note)
    config = services.workspaces.config(context.team_id)
    items, dimensions = services.insights.texts(context.team_id, config.default_language)
    announcement = services.presenter.you_said_we_did(config.default_language, key, note, items, dimensions)
    for channel in config.sales_channels + config.marketing_channels:
        try:
            client.chat_postMessage(channel=channel, **announcement)
        except SlackApiError as error:
            logger.warning("you-said-we-did in %s: %s", channel, error.response.get("error"))
    client.chat_postMessage(channel=user.id, **services.presenter.notice(language, "nudge_acted"))
