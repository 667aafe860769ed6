"""Small helpers every listener module uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import commands
from bot.domain.audience import departments_by_channel
from bot.domain.people import SlackUser
from bot.domain.vocabulary import DEPARTMENTS
from bot.slack.client import channel_members
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


def department_refusal(
    services: Services, client: WebClient, team_id: str, user_id: str, language: str
) -> dict | None:
    """Why the person may not choose the department they answer for, or None when they may: only
    someone in both a sales and a marketing channel chooses (the others answer for their channels')."""
    config = services.workspaces.config(team_id)
    channels = config.department_channels if config else {}
    members = {channel: channel_members(client, channel) for channel in channels}
    found = departments_by_channel(user_id, members, channels)
    if found >= set(DEPARTMENTS):
        return None
    if found:
        return services.presenter.notice(language, "department_by_channels", department=found.pop())
    return services.presenter.notice(language, "department_without_channels")


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


class ForgedMetadata(ValueError):
    """A submitted modal's `private_metadata` does not carry the bot's seal: edited, or never ours."""


def view_metadata(services: Services, view: Mapping[str, Any]) -> dict:
    """What the presenter sealed into a modal's `private_metadata`, unsealed.

    Raises `ForgedMetadata` when the seal is missing or wrong; `refuse_forged_metadata` answers such
    a submission before any listener sees it."""
    metadata = services.metadata_seal.unseal(str(view.get("private_metadata") or ""))
    if metadata is None:
        raise ForgedMetadata(view.get("callback_id"))
    return metadata


def open_view(client: WebClient, trigger_id: str, view: Mapping[str, Any]) -> str | None:
    """Open a modal; Slack's error code when it could not be (a trigger id expired, say)."""
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        return str(error.response.get("error", "unknown_error"))
    return None


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
