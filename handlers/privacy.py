"""`/align forget-me`: anyone deletes what the bot stores about them, after confirming.

Only the person who clicks is ever forgotten: the button carries no user id to tamper with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.services.lifecycle import forget
from handlers.common import fetch_user, services_of

if TYPE_CHECKING:
    from handlers.common import Invocation


def register(app: App) -> None:
    app.action("forget_me_confirm")(handle_confirm)
    app.action("forget_me_cancel")(handle_cancel)


def forget_me_command(invocation: Invocation) -> dict:
    return invocation.presenter.forget_me_confirm(invocation.language)


def handle_confirm(ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond) -> None:
    ack()
    services = services_of(context)
    user = fetch_user(client, body["user"]["id"])
    language = services.workspaces.language_for(context.team_id, user)  # before the choice is deleted
    deleted = forget(services.database, context.team_id, user.id, services.clock.now())
    confirmation = services.presenter.notice(language, "forgotten", **deleted)
    respond(replace_original=True, **confirmation)


def handle_cancel(ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond) -> None:
    ack()
    services = services_of(context)
    language = services.workspaces.language_for(context.team_id, fetch_user(client, body["user"]["id"]))
    respond(replace_original=True, **services.presenter.notice(language, "nothing_deleted"))
