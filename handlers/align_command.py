"""`/align`: one slash command, dispatched on its first word."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.domain import commands
from bot.domain.vocabulary import DEPARTMENTS, SUPPORTED_LANGUAGES
from bot.slack.manifest import COMMAND
from handlers.common import Invocation, department_refusal, fetch_user, refusal, services_of
from handlers.digest import digest_command
from handlers.export import export_command
from handlers.meetings import meeting_command
from handlers.middleware import is_leader
from handlers.peoples_time import away_command, holidays_command
from handlers.pipeline import pipeline_command
from handlers.privacy import forget_me_command
from handlers.pulse_admin import pulse_command, questions_command
from handlers.setup_modal import open_setup_modal


def register(app: App) -> None:
    app.command(COMMAND)(handle_align)


def handle_align(ack: Ack, command: dict, client: WebClient, context: BoltContext, respond: Respond) -> None:
    ack()
    services = services_of(context)
    user = fetch_user(client, command["user_id"])
    invocation = Invocation(
        services=services,
        client=client,
        team_id=context.team_id,
        user=user,
        language=services.workspaces.language_for(context.team_id, user),
        is_admin=services.workspaces.may_administer(context.team_id, user),
        parsed=commands.parse(command.get("text", "")),
        trigger_id=command["trigger_id"],
    )
    subcommand = invocation.parsed.subcommand
    if subcommand is None:
        reply = _unknown(invocation)
    elif subcommand.admin_only and not invocation.is_admin and not _leader_may(invocation):
        reply = refusal(services, invocation.team_id, invocation.language)
    else:
        reply = SUBCOMMAND_HANDLERS[subcommand.name](invocation)
    if reply is not None:
        respond(response_type="ephemeral", **reply)


def _leader_may(invocation: Invocation) -> bool:
    """Leaders who are not admins may read the digest's preview (`/align digest [preview]`)."""
    parsed = invocation.parsed
    if parsed.subcommand.name != "digest" or [a.lower() for a in parsed.args] not in ([], ["preview"]):
        return False
    return is_leader(invocation.services, invocation.client, invocation.team_id, invocation.user)


def _unknown(invocation: Invocation) -> dict:
    return invocation.presenter.unknown_command(
        invocation.language,
        invocation.parsed.typed,
        invocation.parsed.suggestion,
        commands.available_to(invocation.is_admin),
    )


def _help(invocation: Invocation) -> dict:
    return invocation.presenter.help(
        invocation.language,
        commands.available_to(invocation.is_admin),
        invocation.services.workspaces.threshold(invocation.team_id),
    )


def _status(invocation: Invocation) -> dict:
    workspaces = invocation.services.workspaces
    change = workspaces.latest_threshold_change(invocation.team_id)
    return invocation.presenter.status(invocation.language, workspaces.config(invocation.team_id), change)


def _language(invocation: Invocation) -> dict:
    choice = invocation.parsed.args[0].lower() if invocation.parsed.args else ""
    if choice not in SUPPORTED_LANGUAGES or len(invocation.parsed.args) > 1:
        return invocation.presenter.language_usage(invocation.language, " ".join(invocation.parsed.args))
    invocation.services.workspaces.set_language(invocation.team_id, invocation.user.id, choice)
    return invocation.presenter.language_changed(choice)


def _setup(invocation: Invocation) -> dict | None:
    error = open_setup_modal(
        invocation.client,
        invocation.services,
        invocation.team_id,
        invocation.user,
        invocation.language,
        invocation.trigger_id,
    )
    return invocation.presenter.slack_failed(invocation.language, error) if error else None


def _department(invocation: Invocation) -> dict:
    choice = invocation.parsed.args[0].lower() if len(invocation.parsed.args) == 1 else ""
    if choice not in DEPARTMENTS:
        return invocation.presenter.notice(invocation.language, "department_usage")
    refused = department_refusal(
        invocation.services, invocation.client, invocation.team_id, invocation.user.id, invocation.language
    )
    if refused is not None:
        return refused
    invocation.services.pulses.set_department(invocation.team_id, invocation.user.id, choice)
    return invocation.presenter.notice(invocation.language, "department_set", department=choice)


SUBCOMMAND_HANDLERS: dict[str, Callable[[Invocation], dict | None]] = {
    "help": _help,
    "status": _status,
    "language": _language,
    "department": _department,
    "away": away_command,
    "holidays": holidays_command,
    "setup": _setup,
    "pulse": pulse_command,
    "questions": questions_command,
    "digest": digest_command,
    "export": export_command,
    "meeting": meeting_command,
    "forget-me": forget_me_command,
    "pipeline": pipeline_command,
}
