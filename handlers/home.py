"""The App Home tab (with the action items, for leaders), and its admin button that opens the setup modal."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.domain.people import SlackUser
from handlers.common import fetch_user, services_of
from handlers.context import Services
from handlers.middleware import admin_of, is_leader, require_admin
from handlers.setup_modal import open_setup_modal


def register(app: App) -> None:
    app.event("app_home_opened")(handle_home_opened)
    app.action("open_setup", middleware=[require_admin])(handle_open_setup)


def handle_home_opened(event: dict, client: WebClient, context: BoltContext) -> None:
    if event.get("tab", "home") != "home":
        return
    services = services_of(context)
    publish_home(services, client, context.team_id, fetch_user(client, event["user"]))


def publish_home(services: Services, client: WebClient, team_id: str, user: SlackUser) -> None:
    """The Home tab as `user` sees it: admins also see the digest's state, leaders the action items."""
    now = services.clock.now()
    config = services.workspaces.config(team_id)
    results = services.insights.latest_results(team_id) if config else None
    asked, answered = services.insights.own_participation(team_id, user.id, now)
    is_admin = services.workspaces.may_administer(team_id, user)
    leads = bool(config) and is_leader(services, client, team_id, user)
    view = services.presenter.home(
        services.workspaces.language_for(team_id, user),
        config=config,
        company=results.composites["everyone"] if results else None,
        asked=asked,
        answered=answered,
        is_admin=is_admin,
        action_items=services.action_items.items(team_id) if leads else None,
        digest_pictures=services.insights.digest_pictures(team_id, user.id, config.leadership_channel)
        if leads
        else (),
        **(_digest_status(services, team_id, config.timezone) if is_admin and config else {}),
    )
    client.views_publish(user_id=user.id, view=view)


def _digest_status(services: Services, team_id: str, timezone: str) -> dict:
    """For admins only: the latest digest sent, the next one, the posts Slack refused, and the pulse
    posts no look-up could confirm (how many, per round: nobody's answers, nobody named)."""
    return {
        "last_digest": services.insights.last_digest(team_id, timezone),
        "digest_failures": services.insights.failed_digest_posts(team_id),
        "next_digest": services.digests.next_digest(team_id),
        "unconfirmed_posts": services.pulses.unconfirmed_posts(team_id),
    }


def handle_open_setup(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    services, user = services_of(context), admin_of(context)
    language = services.workspaces.language_for(context.team_id, user)
    error = open_setup_modal(client, services, context.team_id, user, language, body["trigger_id"])
    if error:
        client.chat_postMessage(channel=user.id, **services.presenter.slack_failed(language, error))
