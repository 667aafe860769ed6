"""The `/align setup` modal: opening it, and storing what an admin submits."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import workspace_setup
from bot.domain.people import SlackUser
from handlers.common import input_state, open_view, services_of, view_metadata
from handlers.context import Services
from handlers.middleware import admin_of, require_admin

CALLBACK_ID = "setup"


def register(app: App) -> None:
    app.view(CALLBACK_ID, middleware=[require_admin])(handle_submission)


def open_setup_modal(
    client: WebClient, services: Services, team_id: str, user: SlackUser, language: str, trigger_id: str
) -> str | None:
    """Open the modal for an admin; returns Slack's error code when it could not be opened."""
    view = services.presenter.setup_modal(
        language, services.workspaces.setup_form(team_id, user), {"language": language}
    )
    return open_view(client, trigger_id, view)


def form_from_state(values: Mapping[str, Mapping[str, Any]]) -> workspace_setup.SetupForm:
    """Read the submitted modal's state; absent or malformed fields become empty values."""

    def ids(block_id: str, key: str) -> tuple[str, ...]:
        selected = input_state(values, block_id).get(key) or []
        return tuple(item for item in selected if isinstance(item, str))

    language_option = input_state(values, "default_language").get("selected_option") or {}
    return workspace_setup.SetupForm(
        sales_channels=ids("sales_channels", "selected_conversations"),
        marketing_channels=ids("marketing_channels", "selected_conversations"),
        leadership_channel=input_state(values, "leadership_channel").get("selected_conversation") or None,
        timezone=str(input_state(values, "timezone").get("value") or ""),
        default_language=str(language_option.get("value") or ""),
        anonymity_threshold=str(input_state(values, "anonymity_threshold").get("value") or ""),
        admins=ids("admins", "selected_users"),
    )


def _channels_without_bot(client: WebClient, channels: tuple[str, ...], logger: logging.Logger) -> list[str]:
    missing = []
    for channel in channels:
        try:
            if not client.conversations_info(channel=channel)["channel"].get("is_member"):
                missing.append(channel)
        except SlackApiError as error:
            logger.warning("conversations.info %s failed: %s", channel, error.response.get("error"))
            missing.append(channel)
    return missing


def handle_submission(
    ack: Ack, view: dict, client: WebClient, context: BoltContext, logger: logging.Logger
) -> None:
    services = services_of(context)
    language = str(view_metadata(services, view).get("language", "en"))
    config, errors = workspace_setup.validate(form_from_state(view["state"]["values"]))
    if errors:
        ack(**services.presenter.field_errors(language, errors))
        return
    team_id, user = context.team_id, admin_of(context)
    before = services.workspaces.config(team_id)
    # Stored before the ack, so the modal submitted twice is stored as first submitted, whichever
    # submission a listener thread takes up first.
    saved = services.workspaces.save_setup(team_id, config, user.id, f"view:{view['id']}")
    ack()
    if not saved:
        logger.info("setup view %s submitted again: already stored", view["id"])
        return
    if before is not None and before.anonymity_threshold != config.anonymity_threshold:
        _announce_threshold(client, services, config, before.anonymity_threshold, user.id, logger)
    channels = (
        config.sales_channels + config.marketing_channels + tuple(filter(None, [config.leadership_channel]))
    )
    message = services.presenter.setup_saved(
        language, config, user.id, _channels_without_bot(client, channels, logger)
    )
    client.chat_postMessage(channel=user.id, **message)


def _announce_threshold(
    client: WebClient,
    services: Services,
    config: workspace_setup.WorkspaceConfig,
    before: int,
    changed_by: str,
    logger: logging.Logger,
) -> None:
    """Both teams hear that the group size their answers are hidden under changed, and who changed it."""
    notice = services.presenter.threshold_changed(
        config.default_language, before, config.anonymity_threshold, changed_by
    )
    for channel in config.sales_channels + config.marketing_channels:
        try:
            client.chat_postMessage(channel=channel, **notice)
        except SlackApiError as error:
            logger.warning("threshold change in %s: %s", channel, error.response.get("error"))
