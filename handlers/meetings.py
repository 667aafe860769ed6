"""Joint meetings: `/align meeting …` for admins (its modal, removal), RSVPs in the channels, and the
"was it useful?" DM with its "what should change?" modal."""

from __future__ import annotations

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
    fetch_user,
    input_state,
    input_text,
    open_modal_for_click,
    selected_values,
    services_of,
    view_metadata,
)
from handlers.middleware import admin_of, require_admin

if TYPE_CHECKING:
    from handlers.common import Invocation

logger = logging.getLogger(__name__)

ADD, EDIT = "meeting_add", "meeting_edit"
NAMED_ACTIONS = ("edit", "pause", "resume", "skip-next", "remove")


def register(app: App) -> None:
    app.view(ADD, middleware=[require_admin])(handle_meeting_submission)
    app.view(EDIT, middleware=[require_admin])(handle_meeting_submission)
    app.action("meeting_remove_confirm", middleware=[require_admin])(handle_remove_confirm)
    app.action("meeting_remove_cancel")(handle_remove_cancel)
    app.action(re.compile(r"^meeting_rsvp:"))(handle_rsvp)
    app.action(re.compile(r"^meeting_check:"))(handle_check_tap)
    app.action(re.compile(r"^meeting_held:"))(handle_held_tap)
    app.action("meeting_check_comment")(handle_check_comment_button)
    app.view("meeting_check_comment")(handle_check_comment_submission)


# ----- /align meeting ----------------------------------------------------------------------------


def meeting_command(invocation: Invocation) -> dict | None:
    services, team_id = invocation.services, invocation.team_id
    present, language = invocation.presenter, invocation.language
    args = invocation.parsed.args
    action = args[0].lower() if args else "list"
    name = " ".join(args[1:]).strip()
    if action == "list":
        return present.meeting_list(language, services.meetings.summaries(team_id))
    if action in ("add", "edit") and services.workspaces.config(team_id) is None:
        return present.notice(language, "meeting_setup_first")
    if action == "add":
        return _open_meeting_modal(invocation, None)
    if action == "agenda":
        return _add_to_agenda(invocation)
    if action not in NAMED_ACTIONS:
        return present.notice(language, "meeting_usage")
    if not name:
        return present.notice(language, "meeting_needs_name", action=action)
    found = services.meetings.find(team_id, name)
    if found is None:
        return present.notice(language, "meeting_missing", name=name)
    meeting_id, settings = found
    if action == "edit":
        return _open_meeting_modal(invocation, (meeting_id, settings))
    if action == "remove":
        return present.meeting_remove_confirm(language, settings.title, meeting_id)
    if action == "skip-next":
        skipped = services.meetings.skip_next(team_id, meeting_id, invocation.user.id)
        services.schedule_changed()
        kind = "meeting_skip_next" if skipped else "meeting_nothing_to_skip"
        return present.notice(language, kind, name=settings.title, when=skipped)
    services.meetings.set_paused(team_id, meeting_id, paused=action == "pause")
    services.schedule_changed()
    kind = "meeting_paused" if action == "pause" else "meeting_resumed"
    return present.notice(language, kind, name=settings.title)


def _add_to_agenda(invocation: Invocation) -> dict:
    """`/align meeting agenda add TEXT`: a point for the soonest meeting to come."""
    present, language = invocation.presenter, invocation.language
    args = invocation.parsed.args
    text = " ".join(" ".join(args[2:]).split())
    if len(args) < 3 or args[1].lower() != "add" or not text:
        return present.notice(language, "agenda_usage")
    if len(text) > MAX_AGENDA_ITEM_LENGTH:
        return present.notice(language, "agenda_too_long")
    added = invocation.services.meetings.add_agenda_item(invocation.team_id, text, invocation.user.id)
    if added is None:
        return present.notice(language, "agenda_no_meeting")
    title, start = added
    return present.notice(language, "agenda_added", name=title, when=start)


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
    view = invocation.presenter.meeting_modal(
        invocation.language,
        ADD if editing is None else EDIT,
        form,
        {"language": invocation.language, "editing": editing[0] if editing else None},
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


def handle_meeting_submission(ack: Ack, view: dict, client: WebClient, context: BoltContext) -> None:
    services, team_id = services_of(context), context.team_id
    metadata = view_metadata(services, view)
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
        ack(**services.presenter.field_errors(language, errors))
        return
    ack()
    user = admin_of(context)
    if not services.workspaces.claim_request(team_id, f"view:{view['id']}"):
        return  # the same submission again
    if editing is None:
        kind = (
            "meeting_created" if services.meetings.create(team_id, settings, user.id) else "meeting_duplicate"
        )
    else:
        outcome = services.meetings.update(team_id, editing, settings)
        kind = {"updated": "meeting_updated", "missing": "meeting_missing"}.get(outcome, "meeting_duplicate")
    services.schedule_changed()
    client.chat_postMessage(channel=user.id, **services.presenter.notice(language, kind, name=settings.title))


def handle_remove_confirm(ack: Ack, body: dict, context: BoltContext, respond: Respond) -> None:
    ack()
    services = services_of(context)
    language = services.workspaces.language_for(context.team_id, admin_of(context))
    title = services.meetings.remove(context.team_id, _int(body["actions"][0].get("value")))
    services.schedule_changed()
    kind = "meeting_removed" if title is not None else "meeting_missing"
    respond(replace_original=True, **services.presenter.notice(language, kind, name=title or ""))


def handle_remove_cancel(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    language = services.workspaces.language_for(context.team_id, fetch_user(client, body["user"]["id"]))
    respond(replace_original=True, **services.presenter.notice(language, "nothing_deleted"))


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
        post = services.meetings.reminder_post(reminder_id)
        if post is None:
            continue
        try:
            client.chat_update(channel=post.channel, ts=post.ts, **services.presenter.meeting_reminder(post))
        except SlackApiError as error:
            logger.warning("RSVP counts in %s: %s", post.channel, error.response.get("error"))
    language = services.workspaces.language_for(team_id, fetch_user(client, user_id))
    kind = {"saved": f"rsvp_{answer}", "closed": "rsvp_closed"}.get(outcome.status, "rsvp_unknown")
    reply = services.presenter.notice(language, kind, name=outcome.title, when=outcome.occurrence)
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
        threshold = services.workspaces.threshold(context.team_id)
        respond(replace_original=True, **services.presenter.meeting_check(view, threshold))
        return
    kind = "check_closed" if status == "closed" else "check_not_asked"
    reply = services.presenter.notice(view.language if view else "en", kind)
    respond(replace_original=False, response_type="ephemeral", **reply)


def handle_held_tap(ack: Ack, body: dict, context: BoltContext, respond: Respond) -> None:
    """The owner (or the first person asked) says whether the meeting took place; held, the others
    get the usefulness question at once."""
    ack()
    services = services_of(context)
    action = body["actions"][0]
    held = action["action_id"] == "meeting_held:yes"
    status, view = services.meetings.confirm_held(
        context.team_id, body["user"]["id"], _int(action.get("value")), held
    )
    if status == "saved":
        threshold = services.workspaces.threshold(context.team_id)
        respond(replace_original=True, **services.presenter.meeting_check(view, threshold))
        services.schedule_changed()
        return
    kind = {"closed": "check_closed", "already": "meeting_held_already"}.get(status, "check_not_asked")
    reply = services.presenter.notice(view.language if view else "en", kind)
    respond(replace_original=False, response_type="ephemeral", **reply)


def handle_check_comment_button(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    check_id, user_id = _int(body["actions"][0].get("value")), body["user"]["id"]
    view = services.meetings.check_view(context.team_id, check_id, user_id)
    language = view.language if view else "en"
    modal = services.presenter.meeting_check_comment_modal(
        language,
        services.meetings.check_comment(context.team_id, check_id, user_id) or "",
        services.workspaces.threshold(context.team_id),
        {"check_id": check_id},
    )
    open_modal_for_click(body, client, services, respond, language, modal)


def handle_check_comment_submission(
    ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext
) -> None:
    services = services_of(context)
    metadata = view_metadata(services, view)
    check_id, user_id = _int(metadata.get("check_id")), body["user"]["id"]
    text = input_text(view["state"]["values"], "comment").strip()
    before = services.meetings.check_view(context.team_id, check_id, user_id)
    language = before.language if before else "en"
    if not text:
        ack(**services.presenter.field_errors(language, {"comment": "comment_required"}))
        return
    ack()
    after = services.meetings.comment_on_check(context.team_id, user_id, check_id, text[:1000])
    kind = "check_comment_saved" if after is not None else "check_closed"
    client.chat_postMessage(channel=user_id, **services.presenter.notice(language, kind))
    dm = services.meetings.check_dm_of(context.team_id, check_id, user_id) if after is not None else None
    if dm is not None:
        message = services.presenter.meeting_check(after, services.workspaces.threshold(context.team_id))
        try:
            client.chat_update(channel=dm[0], ts=dm[1], **message)
        except SlackApiError as error:
            logger.warning("could not mark the answer on check %s: %s", check_id, error.response.get("error"))


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
