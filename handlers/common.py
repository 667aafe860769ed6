"""Small helpers every listener module uses."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import commands
from bot.domain.people import SlackUser
from handlers.context import Services


def services_of(context: BoltContext) -> Services:
    return context["services"]


def fetch_user(client: WebClient, user_id: str) -> SlackUser:
    """Who is asking, with their Slack locale and admin flags (never call this before ack())."""
    return SlackUser.from_api(client.users_info(user=user_id, include_locale=True)["user"])


def refusal(services: Services, team_id: str, language: str) -> dict:
    """The message an unauthorised person gets instead of a configuration change."""
    config = services.workspaces.config(team_id)
    return services.renderer.render("refusal", language, admins=config.admins if config else ())


def input_state(values: Mapping[str, Mapping[str, Any]], block_id: str) -> Mapping[str, Any]:
    """The submitted state of one input block (each of ours has a single element, `value`)."""
    return (values.get(block_id) or {}).get("value") or {}


def input_text(values: Mapping[str, Mapping[str, Any]], block_id: str) -> str:
    """A text, number, date, time or single-select input's value as a string ("" when empty)."""
    state = input_state(values, block_id)
    for key in ("value", "selected_time", "selected_date", "selected_user"):
        if state.get(key) is not None:
            return str(state[key])
    return str((state.get("selected_option") or {}).get("value") or "")


def selected_values(state: Mapping[str, Any]) -> tuple[str, ...]:
    """The values of checkboxes or a multi-select, as plain strings."""
    return tuple(str(option.get("value")) for option in state.get("selected_options") or [])


def view_metadata(view: Mapping[str, Any]) -> dict:
    """The JSON we put in a modal's `private_metadata` (an empty dict if it was tampered with)."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return metadata if isinstance(metadata, dict) else {}


def submitted_by_admin(
    client: WebClient, services: Services, team_id: str, user_id: str, language: str
) -> SlackUser | None:
    """After `ack()`: the submitter if they may administer; otherwise a refusal DM and None.

    Modals are signed by Slack, but who submits can have lost the right since the modal opened.
    """
    user = fetch_user(client, user_id)
    if services.workspaces.may_administer(team_id, user):
        return user
    logging.getLogger(__name__).warning("a submission by %s, who is not an admin, was refused", user.id)
    client.chat_postMessage(channel=user.id, **refusal(services, team_id, language))
    return None


def field_errors(services: Services, language: str, errors: Mapping[str, str]) -> dict:
    """The `response_action: errors` answer to a modal, texts in the submitter's language."""
    return {
        "response_action": "errors",
        "errors": services.renderer.render("field_errors", language, errors=errors),
    }


def clicked_by_admin(
    client: WebClient, services: Services, team_id: str, body: Mapping[str, Any], respond
) -> tuple[SlackUser, str] | None:
    """Before an admin-only button acts: the clicker and their language, or an ephemeral refusal."""
    user = fetch_user(client, body["user"]["id"])
    language = services.workspaces.language_for(team_id, user)
    if services.workspaces.may_administer(team_id, user):
        return user, language
    respond(replace_original=False, response_type="ephemeral", **refusal(services, team_id, language))
    return None


def open_view(client: WebClient, trigger_id: str, view: Mapping[str, Any]) -> str | None:
    """Open a modal; Slack's error code when it could not be (a trigger id expired, say)."""
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        return str(error.response.get("error", "unknown_error"))
    return None


def open_comment_modal(
    body: dict, client: WebClient, services: Services, respond, template: str, language: str, **context
) -> None:
    """The optional-comment modal behind a button in a DM; it remembers the message (to update it
    once saved) and the ids in `context["metadata"]`. Slack's refusal is told ephemerally."""
    metadata = {
        **context.pop("metadata"),
        "channel": (body.get("channel") or {}).get("id"),
        "ts": (body.get("message") or {}).get("ts"),
    }
    modal = services.renderer.render(template, language, private_metadata=json.dumps(metadata), **context)
    error = open_view(client, body["trigger_id"], modal)
    if error:
        reply = services.renderer.render("slack_failed", language, error=error)
        respond(replace_original=False, response_type="ephemeral", **reply)


@dataclass(frozen=True)
class Invocation:
    """One `/align` call, with everything a subcommand needs to answer it."""

    services: Services
    client: WebClient
    team_id: str
    user: SlackUser
    language: str
    is_admin: bool
    parsed: commands.ParsedCommand
    trigger_id: str

    def render(self, template: str, **context) -> dict:
        return self.services.renderer.render(template, self.language, **context)

    def open_modal(self, view: dict) -> dict | None:
        """Open `view`; the reply explaining why when Slack would not."""
        error = open_view(self.client, self.trigger_id, view)
        return self.render("slack_failed", error=error) if error else None
