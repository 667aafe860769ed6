"""Listener middleware: checks a listener declares with `middleware=[...]` instead of making inline."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import Ack, BoltContext, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.people import SlackUser
from handlers.common import ForgedMetadata, fetch_user, refusal, services_of, view_metadata

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
    logger.warning("%s by %s, who is not an admin, was refused", body.get("type"), user.id)
    submitted = body.get("type") == "view_submission"
    shown_in = view_metadata(services, body["view"]).get("language") if submitted else None  # as opened
    language = shown_in or services.workspaces.language_for(context.team_id, user)
    reply = refusal(services, context.team_id, language)
    if context.response_url:
        respond(replace_original=False, response_type="ephemeral", **reply)
    else:
        client.chat_postMessage(channel=user.id, **reply)
    return ack()


def admin_of(context: BoltContext) -> SlackUser:
    """The admin `require_admin` let through."""
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
