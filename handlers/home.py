"""The App Home tab, and its admin button that opens the setup modal."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from handlers.common import fetch_user, services_of
from handlers.context import Services
from handlers.middleware import admin_of, require_admin
from handlers.setup_modal import open_setup_modal


def register(app: App) -> None:
    app.event("app_home_opened")(handle_home_opened)
    app.action("open_setup", middleware=[require_admin])(handle_open_setup)


def handle_home_opened(event: dict, client: WebClient, context: BoltContext) -> None:
    if event.get("tab", "home") != "home":
        return
    services = services_of(context)
    user = fetch_user(client, event["user"])
    now = services.clock.now()
    config = services.workspaces.config(context.team_id)
    results = services.insights.latest_results(context.team_id) if config else None
    asked, answered = services.insights.own_participation(context.team_id, user.id, now)
    is_admin = services.workspaces.may_administer(context.team_id, user)
    view = services.presenter.home(
        services.workspaces.language_for(context.team_id, user),
        config=config,
        company=results.composites["everyone"] if results else None,
        asked=asked,
        answered=answered,
        is_admin=is_admin,
        **(_digest_status(services, context.team_id, config, user.id) if is_admin and config else {}),
    )
    client.views_publish(user_id=user.id, view=view)


def _digest_status(services: Services, team_id: str, config, reader: str) -> dict:
    """For admins only: the latest digest sent and its pictures, the next one, and the posts Slack refused."""
    return {
        "last_digest": services.insights.last_digest(team_id, config.timezone),
        "digest_pictures": services.insights.digest_pictures(team_id, reader, config.leadership_channel),
        "digest_failures": services.insights.failed_digest_posts(team_id),
        "next_digest": services.digests.next_digest(team_id),
    }


def handle_open_setup(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    services, user = services_of(context), admin_of(context)
    language = services.workspaces.language_for(context.team_id, user)
    error = open_setup_modal(client, services, context.team_id, user, language, body["trigger_id"])
    if error:
        client.chat_postMessage(channel=user.id, **services.presenter.slack_failed(language, error))
