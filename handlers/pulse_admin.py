"""`/align pulse …` and `/align questions …` for admins, their modals and the delete confirmation."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.domain import cadence as cadences
from bot.domain.recurrence_form import suggested
from handlers.common import (
    clicked_by_admin,
    fetch_user,
    field_errors,
    input_state,
    input_text,
    selected_values,
    services_of,
    submitted_by_admin,
    view_metadata,
)

if TYPE_CHECKING:
    from handlers.common import Invocation

logger = logging.getLogger(__name__)

ADD, EDIT = "pulse_add", "pulse_edit"
NAMED_ACTIONS = ("edit", "pause", "resume", "skip-next", "now", "delete")


def register(app: App) -> None:
    app.view(ADD)(handle_cadence_submission)
    app.view(EDIT)(handle_cadence_submission)
    app.view("question_add")(handle_question_submission)
    app.action("pulse_delete_confirm")(handle_delete_confirm)
    app.action("pulse_delete_cancel")(handle_delete_cancel)


# ----- /align pulse ------------------------------------------------------------------------------


def pulse_command(invocation: Invocation) -> dict | None:
    services, team_id = invocation.services, invocation.team_id
    args = invocation.parsed.args
    action = args[0].lower() if args else "list"
    name = " ".join(args[1:]).strip()
    if action == "list":
        return invocation.render("pulse_list", summaries=services.pulses.summaries(team_id))
    if action in ("add", "edit") and services.workspaces.config(team_id) is None:
        return invocation.render("notice", kind="setup_first")
    if action == "add":
        return _open_cadence_modal(invocation, ADD, None)
    if action == "preview":
        return _preview(invocation, name or None)
    if action not in NAMED_ACTIONS:
        return invocation.render("notice", kind="pulse_usage")
    if not name:
        return invocation.render("notice", kind="pulse_needs_name", action=action)
    if action == "edit":
        if services.pulses.settings(team_id, name) is None:
            return invocation.render("notice", kind="pulse_missing", name=name)
        return _open_cadence_modal(invocation, EDIT, name)
    if action == "delete":
        if services.pulses.settings(team_id, name) is None:
            return invocation.render("notice", kind="pulse_missing", name=name)
        return invocation.render("pulse_delete_confirm", name=name)
    if action == "now":
        outcome = services.pulses.start_now(team_id, name, invocation.trigger_id)
        services.schedule_changed()
        kind = {"started": "pulse_started", "duplicate": "pulse_duplicate"}.get(outcome, "pulse_missing")
        return invocation.render("notice", kind=kind, name=name)
    if action == "skip-next":
        summary, skipped = services.pulses.skip_next(team_id, name)
        if summary is None:
            return invocation.render("notice", kind="pulse_missing", name=name)
        return invocation.render(
            "notice", kind="pulse_skip_next" if skipped else "pulse_nothing_to_skip", name=name
        )
    summary = services.pulses.set_paused(team_id, name, paused=action == "pause")
    if summary is None:
        return invocation.render("notice", kind="pulse_missing", name=name)
    services.schedule_changed()
    return invocation.render(
        "notice", kind="pulse_paused" if action == "pause" else "pulse_resumed", name=name
    )


def _preview(invocation: Invocation, name: str | None) -> dict:
    view = invocation.services.pulses.preview(invocation.team_id, name, invocation.language)
    if view is None:
        return invocation.render("notice", kind="pulse_missing" if name else "pulse_none", name=name or "")
    return invocation.render(
        "pulse_message", view=view, threshold=invocation.services.workspaces.threshold(invocation.team_id)
    )


def _open_cadence_modal(invocation: Invocation, callback_id: str, editing: str | None) -> dict | None:
    services = invocation.services
    config = services.workspaces.config(invocation.team_id)
    if editing is not None:
        form = cadences.form_from_settings(services.pulses.settings(invocation.team_id, editing))
    else:
        suggestion = suggested(config.timezone, services.clock.now())
        form = cadences.CadenceForm(**cadences.PULSE_RECURRENCE.prefill(suggestion))
    view = invocation.render(
        "pulse_modal",
        callback_id=callback_id,
        form=form,
        private_metadata=json.dumps({"language": invocation.language, "editing": editing}),
    )
    return invocation.open_modal(view)


def cadence_form(values: Mapping[str, Mapping[str, Any]]) -> cadences.CadenceForm:
    """Read the submitted pulse modal; absent fields become empty values."""

    def text(block_id: str) -> str:
        return input_text(values, block_id)

    options = selected_values(input_state(values, "options"))
    return cadences.CadenceForm(
        name=text("name"),
        audience=text("audience") or cadences.AUDIENCE_SETUP,
        channels=tuple(input_state(values, "channels").get("selected_conversations") or ()),
        frequency=text("frequency"),
        weekdays=selected_values(input_state(values, "weekdays")),
        interval_weeks=text("interval_weeks") or "1",
        nth=text("nth"),
        weekday=text("weekday"),
        send_time=text("send_time"),
        timezone=text("timezone"),
        start_date=text("start_date"),
        items_per_round=text("items_per_round"),
        answer_window_hours=text("answer_window_hours"),
        reminders=text("reminders"),
        reminder_spacing_hours=text("reminder_spacing_hours"),
        skip_dates=text("skip_dates"),
        skip_weekends="skip_weekends" in options,
        delivery=text("delivery") or cadences.DELIVERY_DM,
        include_guests="include_guests" in options,
    )


def handle_cadence_submission(
    ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext, logger: logging.Logger
) -> None:
    services = services_of(context)
    metadata = view_metadata(view)
    language, editing = metadata.get("language", "en"), metadata.get("editing")
    form = cadence_form(view["state"]["values"])
    existing = services.pulses.settings(context.team_id, editing) if editing is not None else None
    settings, errors = cadences.validate(
        form, services.clock.now(), existing_start=existing.recurrence.start if existing else None
    )
    if settings is not None:
        clash = services.pulses.settings(context.team_id, settings.name)
        if clash is not None and (editing is None or settings.name.lower() != editing.lower()):
            errors = {"name": "name_taken"}
    if errors:
        ack(**field_errors(services, language, errors))
        return
    ack()
    user = submitted_by_admin(client, services, context.team_id, body["user"]["id"], language)
    if user is None:
        return
    if editing is None:
        done = services.pulses.create(context.team_id, settings, user.id)
        kind = "pulse_created" if done else "pulse_duplicate"
    else:
        outcome = services.pulses.update(context.team_id, editing, settings)
        kind = {"updated": "pulse_updated", "missing": "pulse_missing"}.get(outcome, "pulse_duplicate")
    services.schedule_changed()
    notice = services.renderer.render("notice", language, kind=kind, name=settings.name)
    client.chat_postMessage(channel=user.id, **notice)


def handle_delete_confirm(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    clicker = clicked_by_admin(client, services, context.team_id, body, respond)
    if clicker is None:
        return
    user, language = clicker
    name = body["actions"][0]["value"]
    deleted = services.pulses.delete(context.team_id, name)
    services.schedule_changed()
    kind = "pulse_deleted" if deleted else "pulse_missing"
    respond(replace_original=True, **services.renderer.render("notice", language, kind=kind, name=name))


def handle_delete_cancel(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    language = services.workspaces.language_for(context.team_id, fetch_user(client, body["user"]["id"]))
    respond(replace_original=True, **services.renderer.render("notice", language, kind="nothing_deleted"))


# ----- /align questions --------------------------------------------------------------------------


def questions_command(invocation: Invocation) -> dict | None:
    services, team_id = invocation.services, invocation.team_id
    args = invocation.parsed.args
    action = args[0].lower() if args else "list"
    if action == "list":
        return invocation.render("questions_list", **services.pulses.catalogue(team_id, invocation.language))
    if action == "add":
        if services.workspaces.config(team_id) is None:
            return invocation.render("notice", kind="setup_first")
        view = invocation.render(
            "question_add_modal",
            dimensions=services.pulses.catalogue(team_id, invocation.language)["dimensions"],
            private_metadata=json.dumps({"language": invocation.language}),
        )
        return invocation.open_modal(view)
    if action in ("on", "off") and len(args) == 2:
        outcome = services.pulses.set_item_enabled(team_id, args[1], enabled=action == "on")
        kind = {"done": f"question_{action}", "missing": "question_missing", "last": "question_last"}[outcome]
        return invocation.render("notice", kind=kind, name=args[1])
    return invocation.render("notice", kind="question_usage")


def handle_question_submission(
    ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext, logger: logging.Logger
) -> None:
    services = services_of(context)
    language = view_metadata(view).get("language", "en")
    values = view["state"]["values"]
    texts = {
        lang: " ".join(str(input_state(values, f"text_{lang}").get("value") or "").split())
        for lang in ("en", "fa")
    }
    texts = {lang: text for lang, text in texts.items() if text}
    dimension = str((input_state(values, "dimension").get("selected_option") or {}).get("value") or "")
    errors = {}
    if not texts:
        errors["text_en"] = "statement_required"
    if dimension not in {d.id for d in services.bank.dimensions}:
        errors["dimension"] = "bad_choice"
    if errors:
        ack(**field_errors(services, language, errors))
        return
    ack()
    user = submitted_by_admin(client, services, context.team_id, body["user"]["id"], language)
    if user is None:
        return
    item_id = services.pulses.add_custom_item(
        context.team_id, dimension, texts, user.id, request_key=view["id"]
    )
    if item_id is None:
        return  # the same modal submitted twice
    notice = services.renderer.render("notice", language, kind="question_added", name=item_id)
    client.chat_postMessage(channel=user.id, **notice)
