"""`/align digest …`, and what leaders do with the digest's nudges: take one on as an action item (and
later mark it done or dropped, on their Home tab), or snooze it."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.action_items import ActionItem
from handlers.common import (
    input_state,
    input_text,
    open_modal_for_click,
    selected_values,
    services_of,
    view_metadata,
)
from handlers.context import Services
from handlers.home import publish_home
from handlers.middleware import admin_of, require_admin, require_leader

if TYPE_CHECKING:
    from handlers.common import Invocation

SNOOZE = timedelta(weeks=4)
#: The due date an action item's modal suggests.
DUE_IN = timedelta(weeks=4)
logger = logging.getLogger(__name__)


def register(app: App) -> None:
    app.view("digest_schedule", middleware=[require_admin])(handle_schedule_submission)
    app.action("nudge_act", middleware=[require_leader])(handle_act_button)
    app.action("nudge_snooze", middleware=[require_leader])(handle_snooze)
    app.view("nudge_act", middleware=[require_leader])(handle_act_submission)
    app.action("action_item_done", middleware=[require_leader])(handle_close_action)
    app.action("action_item_drop", middleware=[require_leader])(handle_close_action)


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
    """The modal where a leader says what they take on, who owns it and by when."""
    ack()
    services, user = services_of(context), admin_of(context)
    language = services.workspaces.language_for(context.team_id, user)
    metadata = {"language": language, "key": body["actions"][0].get("value", "")[:96]}
    due = services.clock.now().date() + DUE_IN
    modal = services.presenter.nudge_act_modal(language, metadata, owner=user.id, due=due)
    open_modal_for_click(body, client, services, respond, language, modal)


def handle_act_submission(ack: Ack, view: dict, client: WebClient, context: BoltContext) -> None:
    """An action item, once per modal; the leader is told it is on the leaders' Home tab."""
    services = services_of(context)
    metadata = view_metadata(services, view)
    language, key = str(metadata.get("language", "en")), str(metadata.get("key", ""))
    values = view["state"]["values"]
    title = " ".join(input_text(values, "note").split())
    owner = input_text(values, "owner")
    due = _date(input_text(values, "due"))
    errors = {}
    if not title:
        errors["note"] = "comment_required"
    if not owner:
        errors["owner"] = "owner_required"
    if due is None or due < services.clock.now().date():
        errors["due"] = "due_in_future"
    if errors:
        ack(**services.presenter.field_errors(language, errors))
        return
    ack()
    user = admin_of(context)
    if services.action_items.take(context.team_id, f"view:{view['id']}", key, title, owner, due, user.id):
        client.chat_postMessage(channel=user.id, **services.presenter.notice(language, "nudge_acted"))


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def handle_close_action(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """Done or dropped, from the leaders' Home tab. Done tells both teams ("you said, we did"), once:
    only the tap that closes the open item does."""
    ack()
    services, user = services_of(context), admin_of(context)
    language = services.workspaces.language_for(context.team_id, user)
    action = body["actions"][0]
    status = "done" if action["action_id"] == "action_item_done" else "dropped"
    try:
        item_id = int(action.get("value", ""))
    except ValueError:
        return
    item = services.action_items.close(context.team_id, item_id, status, user.id)
    if item is not None and status == "done":
        _tell_both_teams(services, client, context.team_id, item)
    notice = f"action_item_{status}" if item is not None else "action_item_closed_already"
    client.chat_postMessage(channel=user.id, **services.presenter.notice(language, notice))
    publish_home(services, client, context.team_id, user)


def _tell_both_teams(services: Services, client: WebClient, team_id: str, item: ActionItem) -> None:
    config = services.workspaces.config(team_id)
    items, dimensions = services.insights.texts(team_id, config.default_language)
    announcement = services.presenter.you_said_we_did(
        config.default_language, item.nudge_key, item.title, items, dimensions
    )
    for channel in config.sales_channels + config.marketing_channels:
        try:
            client.chat_postMessage(channel=channel, **announcement)
        except SlackApiError as error:
            logger.warning("you-said-we-did in %s: %s", channel, error.response.get("error"))
