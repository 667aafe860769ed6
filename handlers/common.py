"""Small helpers every listener module uses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import commands
from bot.domain.people import SlackUser
from bot.slack.presenters import Presenter
from handlers.context import Services


def services_of(context: BoltContext) -> Services:
    return context["services"]


def fetch_user(client: WebClient, user_id: str) -> SlackUser:
    """Who is asking, with their Slack locale and admin flags. A listener calls it after ack(): a rate
    limit can make it wait (only `require_admin` asks before, once for the listener it guards)."""
    return SlackUser.from_api(client.users_info(user=user_id, include_locale=True)["user"])


def refusal(services: Services, team_id: str, language: str) -> dict:
    """The message an unauthorised person gets instead of a configuration change."""
    config = services.workspaces.config(team_id)
    return services.presenter.refusal(language, config.admins if config else ())


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


def open_view(client: WebClient, trigger_id: str, view: Mapping[str, Any]) -> str | None:
    """Open a modal; Slack's error code when it could not be (a trigger id expired, say)."""
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        return str(error.response.get("error", "unknown_error"))
    return None


def message_metadata(body: Mapping[str, Any], **ids: object) -> dict:
    """What a modal opened from a button in a message remembers: `ids`, and the message (to update
    it once the modal is submitted)."""
    return {
        **ids,
        "channel": (body.get("channel") or {}).get("id"),
        "ts": (body.get("message") or {}).get("ts"),
    }


def open_modal_for_click(
    body: Mapping[str, Any], client: WebClient, services: Services, respond, language: str, modal: dict
) -> None:
    """Open the modal behind a button in a message; when Slack will not, say why, ephemerally."""
    error = open_view(client, body["trigger_id"], modal)
    if error:
        reply = services.presenter.slack_failed(language, error)
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

    @property
    def presenter(self) -> Presenter:
        return self.services.presenter

    def open_modal(self, view: dict) -> dict | None:
        """Open `view`; the reply explaining why when Slack would not."""
        error = open_view(self.client, self.trigger_id, view)
        return self.presenter.slack_failed(self.language, error) if error else None
