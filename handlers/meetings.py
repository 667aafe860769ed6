"""Joint meetings: `/align meeting …` for admins (its modal, removal), RSVPs in the channels, and the
"was it useful?" DM with its "what should change?" modal."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.meetings import (
    MEETING_RECURRENCE,
    MeetingForm,
    MeetingSettings,
    form_from_settings,
    validate_meeting,
)
from bot.domain.recurrence_form import suggested
from bot.services.meetings import MAX_AGENDA_ITEM_LENGTH, RsvpOutcome
from handlers.common import (
    clicked_by_admin,
    fetch_user,
    field_errors,
    input_state,
    input_text,
    open_comment_modal,
    selected_values,
    services_of,
    submitted_by_admin,
    view_metadata,
)

if TYPE_CHECKING:
    from handlers.common import Invocation

logger = logging.getLogger(__name__)

ADD, EDIT = "meeting_add", "meeting_edit"
NAMED_ACTIONS = ("edit", "pause", "resume", "skip-next", "remove")


def register(app: App) -> None:
    app.view(ADD)(handle_meeting_submission)
    app.view(EDIT)(handle_meeting_submission)
    app.action("meeting_remove_confirm")(handle_remove_confirm)
    app.action("meeting_remove_cancel")(handle_remove_cancel)
    app.action(re.compile(r"^meeting_rsvp:"))(handle_rsvp)
    app.action(re.compile(r"^meeting_check:"))(handle_check_tap)
    app.action("meeting_check_comment")(handle_check_comment_button)
    app.view("meeting_check_comment")(handle_check_comment_submission)


# ----- /align meeting ----------------------------------------------------------------------------


def meeting_command(invocation: Invocation) -> dict | None:
    services, team_id = invocation.services, invocation.team_id
    args = invocation.parsed.args
    action = args[0].lower() if args else "list"
    name = " ".join(args[1:]).strip()
    if action == "list":
        return invocation.render("meeting_list", summaries=services.meetings.summaries(team_id))
    if action in ("add", "edit") and services.workspaces.config(team_id) is None:
        return invocation.render("notice", kind="meeting_setup_first")
    if action == "add":
        return _open_meeting_modal(invocation, None)
    if action == "agenda":
        return _add_to_agenda(invocation)
    if action not in NAMED_ACTIONS:
        return invocation.render("notice", kind="meeting_usage")
    if not name:
        return invocation.render("notice", kind="meeting_needs_name", action=action)
    found = services.meetings.find(team_id, name)
    if found is None:
        return invocation.render("notice", kind="meeting_missing", name=name)
    meeting_id, settings = found
    if action == "edit":
        return _open_meeting_modal(invocation, (meeting_id, settings))
    if action == "remove":
        return invocation.render("meeting_remove_confirm", name=settings.title, meeting_id=meeting_id)
    if action == "skip-next":
        skipped = services.meetings.skip_next(team_id, meeting_id, invocation.user.id)
        services.schedule_changed()
        kind = "meeting_skip_next" if skipped else "meeting_nothing_to_skip"
        return invocation.render("notice", kind=kind, name=settings.title, when=skipped)
    services.meetings.set_paused(team_id, meeting_id, paused=action == "pause")
    services.schedule_changed()
    kind = "meeting_paused" if action == "pause" else "meeting_resumed"
    return invocation.render("notice", kind=kind, name=settings.title)


def _add_to_agenda(invocation: Invocation) -> dict:
    """`/align meeting agenda add TEXT`: a point for the soonest meeting to come."""
    args = invocation.parsed.args
    text = " ".join(" ".join(args[2:]).split())
    if len(args) < 3 or args[1].lower() != "add" or not text:
        return invocation.render("notice", kind="agenda_usage")
    if len(text) > MAX_AGENDA_ITEM_LENGTH:
        return invocation.render("notice", kind="agenda_too_long")
    added = invocation.services.meetings.add_agenda_item(invocation.team_id, text, invocation.user.id)
    if added is None:
        return invocation.render("notice", kind="agenda_no_meeting")
    title, start = added
    return invocation.render("notice", kind="agenda_added", name=title, when=start)


def _open_meeting_modal(invocation: Invocation, editing: tuple[int, MeetingSettings] | None) -> dict | None:
    services = invocation.services
    config = services.workspaces.config(invocation.team_id)
    if editing is not None:
        form = form_from_settings(editing[1])
    else:
        form = MeetingForm(
            channels=config.sales_channels + config.marketing_channels,
            **MEETING_RECURRENCE.prefill(suggested(config.timezone, services.clock.now())),
        )
    view = invocation.render(
        "meeting_modal",
        callback_id=ADD if editing is None else EDIT,
        form=form,
        private_metadata=json.dumps(
            {"language": invocation.language, "editing": editing[0] if editing else None}
        ),
    )
    return invocation.open_modal(view)


def meeting_form(values: Mapping[str, Mapping[str, Any]]) -> MeetingForm:
    """Read the submitted meeting modal; absent fields become empty values."""
    return MeetingForm(
        title=input_text(values, "title"),
        frequency=input_text(values, "frequency"),
        weekdays=selected_values(input_state(values, "weekdays")),
        interval_weeks=input_text(values, "interval_weeks") or "1",
        nth=input_text(values, "nth"),
        weekday=input_text(values, "weekday"),
        first_date=input_text(values, "first_date"),
        start_time=input_text(values, "start_time"),
        duration_minutes=input_text(values, "duration_minutes"),
        timezone=input_text(values, "timezone"),
        channels=tuple(input_state(values, "channels").get("selected_conversations") or ()),
        reminder_offsets=selected_values(input_state(values, "reminder_offsets")),
        link=input_text(values, "link"),
        owner=input_text(values, "owner"),
        end_date=input_text(values, "end_date"),
        skip_dates=input_text(values, "skip_dates"),
        skip_weekends="skip_weekends" in selected_values(input_state(values, "options")),
    )


def handle_meeting_submission(
    ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext
) -> None:
    services, team_id = services_of(context), context.team_id
    metadata = view_metadata(view)
    language = metadata.get("language", "en")
    editing = metadata.get("editing") if isinstance(metadata.get("editing"), int) else None
    existing = services.meetings.settings(team_id, editing) if editing is not None else None
    settings = validate_meeting(
        meeting_form(view["state"]["values"]),
        services.clock.now(),
        existing_first_date=existing.recurrence.start if existing else None,
    )
    if not isinstance(settings, MeetingSettings):
        errors = settings
    elif services.meetings.title_taken(team_id, settings.title, editing):
        errors = {"title": "title_taken"}
    else:
        errors = {}
    if errors:
        ack(**field_errors(services, language, errors))
        return
    ack()
    user = submitted_by_admin(client, services, team_id, body["user"]["id"], language)
    if user is None or not services.workspaces.claim_request(team_id, f"view:{view['id']}"):
        return  # not an admin (told so), or the same submission again
    if editing is None:
        kind = (
            "meeting_created" if services.meetings.create(team_id, settings, user.id) else "meeting_duplicate"
        )
    else:
        outcome = services.meetings.update(team_id, editing, settings)
        kind = {"updated": "meeting_updated", "missing": "meeting_missing"}.get(outcome, "meeting_duplicate")
    services.schedule_changed()
    notice = services.renderer.render("notice", language, kind=kind, name=settings.title)
    client.chat_postMessage(channel=user.id, **notice)


def handle_remove_confirm(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    clicker = clicked_by_admin(client, services, context.team_id, body, respond)
    if clicker is None:
        return
    _user, language = clicker
    title = services.meetings.remove(context.team_id, _int(body["actions"][0].get("value")))
    services.schedule_changed()
    kind = "meeting_removed" if title is not None else "meeting_missing"
    respond(
        replace_original=True, **services.renderer.render("notice", language, kind=kind, name=title or "")
    )


def handle_remove_cancel(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    language = services.workspaces.language_for(context.team_id, fetch_user(client, body["user"]["id"]))
    respond(replace_original=True, **services.renderer.render("notice", language, kind="nothing_deleted"))


# ----- RSVPs -------------------------------------------------------------------------------------


def handle_rsvp(ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond) -> None:
    """Going or not: stored once per person, then every post of the meeting shows the new counts."""
    ack()
    services, team_id, user_id = services_of(context), context.team_id, body["user"]["id"]
    meeting_id, day, answer = _parse_rsvp(body["actions"][0].get("value", ""))
    outcome = (
        services.meetings.rsvp(team_id, user_id, meeting_id, day, answer) if day else RsvpOutcome("unknown")
    )
    for reminder_id, _channel, _ts in outcome.posts:
        found = services.meetings.reminder_message(reminder_id)
        if found is None:
            continue
        channel, ts, message = found
        try:
            client.chat_update(channel=channel, ts=ts, **message)
        except SlackApiError as error:
            logger.warning("RSVP counts in %s: %s", channel, error.response.get("error"))
    language = services.workspaces.language_for(team_id, fetch_user(client, user_id))
    kind = {"saved": f"rsvp_{answer}", "closed": "rsvp_closed"}.get(outcome.status, "rsvp_unknown")
    reply = services.renderer.render(
        "notice", language, kind=kind, name=outcome.title, when=outcome.occurrence
    )
    respond(replace_original=False, response_type="ephemeral", **reply)


def _parse_rsvp(value: str) -> tuple[int, date | None, str]:
    meeting_id, _, rest = value.partition(":")
    day, _, answer = rest.partition(":")
    try:
        return _int(meeting_id), date.fromisoformat(day), answer
    except ValueError:
        return 0, None, answer


# ----- "was it useful?" --------------------------------------------------------------------------


def handle_check_tap(ack: Ack, body: dict, context: BoltContext, respond: Respond) -> None:
    """A rating: stored (again if tapped again) and shown in place; a late or stray tap is told why not."""
    ack()
    services = services_of(context)
    check_id, _, score = str(body["actions"][0].get("value", "")).partition(":")
    status, view = services.meetings.answer_check(
        context.team_id, body["user"]["id"], _int(check_id), _int(score)
    )
    if status == "saved":
        respond(replace_original=True, **services.meetings.check_message(view, context.team_id))
        return
    kind = "check_closed" if status == "closed" else "check_not_asked"
    reply = services.renderer.render("notice", view.language if view else "en", kind=kind)
    respond(replace_original=False, response_type="ephemeral", **reply)


def handle_check_comment_button(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    check_id, user_id = _int(body["actions"][0].get("value")), body["user"]["id"]
    view = services.meetings.check_view(context.team_id, check_id, user_id)
    language = view.language if view else "en"
    open_comment_modal(
        body,
        client,
        services,
        respond,
        "meeting_check_comment_modal",
        language,
        text=services.meetings.check_comment(context.team_id, check_id, user_id) or "",
        threshold=services.workspaces.threshold(context.team_id),
        metadata={"check_id": check_id},
    )


def handle_check_comment_submission(
    ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext
) -> None:
    services = services_of(context)
    metadata = view_metadata(view)
    check_id, user_id = _int(metadata.get("check_id")), body["user"]["id"]
    text = input_text(view["state"]["values"], "comment").strip()
    before = services.meetings.check_view(context.team_id, check_id, user_id)
    language = before.language if before else "en"
    if not text:
        ack(**field_errors(services, language, {"comment": "comment_required"}))
        return
    ack()
    after = services.meetings.comment_on_check(context.team_id, user_id, check_id, text[:1000])
    kind = "check_comment_saved" if after is not None else "check_closed"
    client.chat_postMessage(channel=user_id, **services.renderer.render("notice", language, kind=kind))
    channel, ts = metadata.get("channel"), metadata.get("ts")
    if after is not None and channel and ts:
        try:
            client.chat_update(
                channel=channel, ts=ts, **services.meetings.check_message(after, context.team_id)
            )
        except SlackApiError as error:
            logger.warning("could not mark the answer on check %s: %s", check_id, error.response.get("error"))


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
