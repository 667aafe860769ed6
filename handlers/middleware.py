"""Listener middleware: checks a listener declares with `middleware=[...]` instead of making inline."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from slack_bolt import Ack, BoltContext, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.people import SlackUser
from bot.slack.client import channel_members
from handlers.common import ForgedMetadata, fetch_user, refusal, services_of, view_metadata
from handlers.context import Services

logger = logging.getLogger(__name__)


def require_admin(
    ack: Ack,
    body: dict,
    client: WebClient,
    context: BoltContext,
    respond: Respond,
    next_: Callable[[], BoltResponse],
) -> BoltResponse | None:
    """For admin-only buttons and modal submissions. Slack signs them, but whoever sends one may not be
    an admin (a member replaying an admin's modal) or may have stopped being one since it was shown.

    An admin goes on to the listener, who finds them with `admin_of(context)` (users.info is asked
    once, here, before the listener's ack). Anyone else is answered here and nothing changes: under a
    message ephemerally, elsewhere (a modal, the Home tab) by DM; a modal just closes.
    """
    services = services_of(context)
    user = fetch_user(client, body["user"]["id"])
    if services.workspaces.may_administer(context.team_id, user):
        context["admin"] = user
        return next_()
    return _refuse(
        ack, body, client, context, respond, user, "an admin", partial(refusal, services, context.team_id)
    )


def require_leader(
    ack: Ack,
    body: dict,
    client: WebClient,
    context: BoltContext,
    respond: Respond,
    next_: Callable[[], BoltResponse],
) -> BoltResponse | None:
    """As `require_admin`, for what leaders do with the digest (act on a nudge, snooze it, close an
    action item): admins, the leaders the digest settings name, and the leadership channel's members.
    The listener finds them with `admin_of(context)` too."""
    services = services_of(context)
    user = fetch_user(client, body["user"]["id"])
    if is_leader(services, client, context.team_id, user):
        context["admin"] = user
        return next_()
    leaders_only = partial(services.presenter.notice, kind="leaders_only")
    return _refuse(ack, body, client, context, respond, user, "a leader", leaders_only)


def _refuse(
    ack: Ack,
    body: dict,
    client: WebClient,
    context: BoltContext,
    respond: Respond,
    user: SlackUser,
    role: str,
    reply_in: Callable[[str], dict],
) -> BoltResponse | None:
    """Answer someone who is not `role` and change nothing: under a message ephemerally, elsewhere (a
    modal, the Home tab) by DM, in the language the modal was opened in if it was one."""
    logger.warning("%s by %s, who is not %s, was refused", body.get("type"), user.id, role)
    services = services_of(context)
    submitted = body.get("type") == "view_submission"
    shown_in = view_metadata(services, body["view"]).get("language") if submitted else None  # as opened
    reply = reply_in(shown_in or services.workspaces.language_for(context.team_id, user))
    if context.response_url:
        respond(replace_original=False, response_type="ephemeral", **reply)
    else:
        client.chat_postMessage(channel=user.id, **reply)
    return ack()


def is_leader(services: Services, client: WebClient, team_id: str, user: SlackUser) -> bool:
    """Whether `user` leads; the leadership channel's members are asked of Slack only when the
    settings alone do not say yes."""
    if services.workspaces.may_lead(team_id, user):
        return True
    channel = services.workspaces.leadership_channel(team_id)
    if not channel:
        return False
    return services.workspaces.may_lead(team_id, user, channel_members(client, channel))


def admin_of(context: BoltContext) -> SlackUser:
    """The admin `require_admin` (or the leader `require_leader`) let through."""
    return context["admin"]


def refuse_forged_metadata(
    body: dict, client: WebClient, context: BoltContext, next_: Callable[[], BoltResponse]
) -> BoltResponse | None:
    """For every modal submission, before any listener: one whose metadata the bot did not seal (edited
    by whoever sent it) closes with nothing changed, and its sender is told so by DM."""
    if body.get("type") != "view_submission":
        return next_()
    services = services_of(context)
    try:
        view_metadata(services, body.get("view") or {})
    except ForgedMetadata as forged:
        user_id = body["user"]["id"]
        logger.warning("modal %s from %s carried metadata the bot did not seal: refused", forged, user_id)
        try:
            language = services.workspaces.language_for(context.team_id, fetch_user(client, user_id))
            client.chat_postMessage(channel=user_id, **services.presenter.notice(language, "modal_refused"))
        except SlackApiError as error:
            logger.warning("could not tell %s: %s", user_id, error.response.get("error"))
        return BoltResponse(status=200, body="")
    return next_()
