"""Small helpers every listener module uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.people import SlackUser
from bot.services import Services


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


def selected_values(state: Mapping[str, Any]) -> tuple[str, ...]:
    """The values of checkboxes or a multi-select, as plain strings."""
    return tuple(str(option.get("value")) for option in state.get("selected_options") or [])
