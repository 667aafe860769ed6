"""`/align pulse …` and `/align questions …` for admins, their modals and the delete confirmation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.domain import cadence as cadences
from bot.domain.recurrence_form import suggested
from handlers.common import (
    fetch_user,
    input_state,
    input_text,
    selected_values,
    services_of,
    view_metadata,
)
from handlers.middleware import admin_of, require_admin

if TYPE_CHECKING:
    from handlers.common import Invocation

ADD, EDIT = "pulse_add", "pulse_edit"
NAMED_ACTIONS = ("edit", "pause", "resume", "skip-next", "now", "delete")


def register(app: App) -> None:
    app.view(ADD, middleware=[require_admin])(handle_cadence_submission)
    app.view(EDIT, middleware=[require_admin])(handle_cadence_submission)
    app.view("question_add", middleware=[require_admin])(handle_question_submission)
    app.action("pulse_delete_confirm", middleware=[require_admin])(handle_delete_confirm)
    app.action("pulse_delete_cancel")(handle_delete_cancel)


# ----- /align pulse ------------------------------------------------------------------------------


def pulse_command(invocation: Invocation) -> dict | None:
    services, team_id = invocation.services, invocation.team_id
    present, language = invocation.presenter, invocation.language
    args = invocation.parsed.args
    action = args[0].lower() if args else "list"
    name = " ".join(args[1:]).strip()
    if action == "list":
        summaries = services.pulses.summaries(team_id)
        return present.pulse_list(language, summaries, services.pulse_runner.next_reach(team_id))
    if action in ("add", "edit") and services.workspaces.config(team_id) is None:
        return present.notice(language, "setup_first")
    if action == "add":
        return _open_cadence_modal(invocation, ADD, None)
    if action == "preview":
        return _preview(invocation, name or None)
    if action not in NAMED_ACTIONS:
        return present.notice(language, "pulse_usage")
    if not name:
        return present.notice(language, "pulse_needs_name", action=action)
    if action == "edit":
        if services.pulses.settings(team_id, name) is None:
            return present.notice(language, "pulse_missing", name=name)
        return _open_cadence_modal(invocation, EDIT, name)
    if action == "delete":
        if services.pulses.settings(team_id, name) is None:
            return present.notice(language, "pulse_missing", name=name)
        return present.pulse_delete_confirm(language, name)
    if action == "now":
        outcome = services.pulses.start_now(team_id, name, invocation.trigger_id)
        services.schedule_changed()
        kind = {"started": "pulse_started", "duplicate": "pulse_duplicate"}.get(outcome, "pulse_missing")
        return present.notice(language, kind, name=name)
    if action == "skip-next":
        summary, skipped = services.pulses.skip_next(team_id, name)
        if summary is None:
            return present.notice(language, "pulse_missing", name=name)
        return present.notice(language, "pulse_skip_next" if skipped else "pulse_nothing_to_skip", name=name)
    summary = services.pulses.set_paused(team_id, name, paused=action == "pause")
    if summary is None:
        return present.notice(language, "pulse_missing", name=name)
    services.schedule_changed()
    return present.notice(language, "pulse_paused" if action == "pause" else "pulse_resumed", name=name)


def _preview(invocation: Invocation, name: str | None) -> dict:
    services, language = invocation.services, invocation.language
    view = services.pulses.preview(invocation.team_id, name, language)
    if view is None:
        return invocation.presenter.notice(
            language, "pulse_missing" if name else "pulse_none", name=name or ""
        )
    reach = services.pulse_runner.next_reach(invocation.team_id).get(view.cadence_name)
    return invocation.presenter.pulse_message(
        language, replace(view, reach=reach), services.workspaces.threshold(invocation.team_id)
    )


def _open_cadence_modal(invocation: Invocation, callback_id: str, editing: str | None) -> dict | None:
    services = invocation.services
    config = services.workspaces.config(invocation.team_id)
    if editing is not None:
        form = cadences.form_from_settings(services.pulses.settings(invocation.team_id, editing))
    else:
        suggestion = suggested(config.timezone, services.clock.now())
        form = cadences.CadenceForm(quiet_hours=True, **cadences.PULSE_RECURRENCE.prefill(suggestion))
    view = invocation.presenter.pulse_modal(
        invocation.language, callback_id, form, {"language": invocation.language, "editing": editing}
    )
    return invocation.open_modal(view)


def cadence_form(values: Mapping[str, Mapping[str, Any]]) -> cadences.CadenceForm:
    """Read the submitted pulse modal; absent fields become empty values."""

    def text(block_id: str) -> str:
        return input_text(values, block_id)

    options = selected_values(input_state(values, "options"))
    return cadences.CadenceForm(
        name=text("name"),
        kind=text("kind") or cadences.KIND_PULSE,
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
        timing=text("timing") or cadences.TIMING_WORKSPACE,
        quiet_hours="quiet_hours" in options,
        holiday_calendars=text("holiday_calendars"),
        sales_calendars=text("sales_calendars"),
        marketing_calendars=text("marketing_calendars"),
    )


def handle_cadence_submission(ack: Ack, view: dict, client: WebClient, context: BoltContext) -> None:
    services = services_of(context)
    metadata = view_metadata(services, view)
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
        ack(**services.presenter.field_errors(language, errors))
        return
    ack()
    user = admin_of(context)
    if editing is None:
        done = services.pulses.create(context.team_id, settings, user.id)
        kind = "pulse_created" if done else "pulse_duplicate"
    else:
        outcome = services.pulses.update(context.team_id, editing, settings)
        kind = {"updated": "pulse_updated", "missing": "pulse_missing"}.get(outcome, "pulse_duplicate")
    services.schedule_changed()
    client.chat_postMessage(channel=user.id, **services.presenter.notice(language, kind, name=settings.name))


def handle_delete_confirm(ack: Ack, body: dict, context: BoltContext, respond: Respond) -> None:
    ack()
    services = services_of(context)
    language = services.workspaces.language_for(context.team_id, admin_of(context))
    name = body["actions"][0]["value"]
    deleted = services.pulses.delete(context.team_id, name)
    services.schedule_changed()
    kind = "pulse_deleted" if deleted else "pulse_missing"
    respond(replace_original=True, **services.presenter.notice(language, kind, name=name))


def handle_delete_cancel(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    services = services_of(context)
    language = services.workspaces.language_for(context.team_id, fetch_user(client, body["user"]["id"]))
    respond(replace_original=True, **services.presenter.notice(language, "nothing_deleted"))


# ----- /align questions --------------------------------------------------------------------------


def questions_command(invocation: Invocation) -> dict | None:
    services, team_id = invocation.services, invocation.team_id
    present, language = invocation.presenter, invocation.language
    args = invocation.parsed.args
    action = args[0].lower() if args else "list"
    if action == "list":
        return present.questions_list(language, **services.pulses.catalogue(team_id, language))
    if action == "add":
        if services.workspaces.config(team_id) is None:
            return present.notice(language, "setup_first")
        dimensions = services.pulses.catalogue(team_id, language)["dimensions"]
        return invocation.open_modal(present.question_add_modal(language, dimensions, {"language": language}))
    if action in ("on", "off") and len(args) == 2:
        outcome = services.pulses.set_item_enabled(team_id, args[1], enabled=action == "on")
        kind = {"done": f"question_{action}", "missing": "question_missing", "last": "question_last"}[outcome]
        return present.notice(language, kind, name=args[1])
    return present.notice(language, "question_usage")


def handle_question_submission(ack: Ack, view: dict, client: WebClient, context: BoltContext) -> None:
    services = services_of(context)
    language = view_metadata(services, view).get("language", "en")
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
        ack(**services.presenter.field_errors(language, errors))
        return
    ack()
    user = admin_of(context)
    item_id = services.pulses.add_custom_item(
        context.team_id, dimension, texts, user.id, request_key=view["id"]
    )
    if item_id is None:
        return  # the same modal submitted twice
    client.chat_postMessage(
        channel=user.id, **services.presenter.notice(language, "question_added", name=item_id)
    )
