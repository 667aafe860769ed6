"""CRM exports brought in by an admin: `/align pipeline import` (a modal with a file input), or a CSV
file shared with the bot in its DM. Either way the report comes back ephemerally in that DM.

A file whose columns are not recognised gets the mapping step: the report carries a button that opens
a modal listing the file's columns against the fields needed; submitting it imports the file."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.pipeline import Kind
from bot.domain.pipeline_csv import SAMPLE_BYTES, ColumnMapping
from bot.domain.pipeline_mapping import fields_of
from bot.services.pipeline_sync import connect_hubspot
from bot.slack.downloads import DownloadRefused, download_private
from handlers.common import (
    fetch_user,
    input_state,
    input_text,
    open_modal_for_click,
    refusal,
    services_of,
    view_metadata,
)
from handlers.context import Services
from handlers.middleware import admin_of, require_admin

if TYPE_CHECKING:
    from handlers.common import Invocation

logger = logging.getLogger(__name__)
CSV_FILETYPES = ("csv", "tsv", "text")


def register(app: App) -> None:
    app.view("pipeline_import", middleware=[require_admin])(handle_import_submission)
    app.view("pipeline_hubspot", middleware=[require_admin])(handle_hubspot_submission)
    app.action("pipeline_map", middleware=[require_admin])(handle_map_button)
    app.view("pipeline_mapping", middleware=[require_admin])(handle_mapping_submission)
    app.event("file_shared")(handle_file_shared)


def pipeline_command(invocation: Invocation) -> dict | None:
    services, language = invocation.services, invocation.language
    words = tuple(word.lower() for word in invocation.parsed.args)
    if words not in (("import",), ("connect", "hubspot")):
        return services.pipeline_presenter.usage(language)
    if services.workspaces.config(invocation.team_id) is None:
        return invocation.presenter.notice(language, "setup_first")
    if words == ("import",):
        return invocation.open_modal(services.pipeline_presenter.import_modal(language))
    return invocation.open_modal(services.pipeline_presenter.hubspot_modal(language))


def handle_import_submission(ack: Ack, view: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    services, admin = services_of(context), admin_of(context)
    values = view["state"]["values"]
    files = input_state(values, "file").get("files") or []
    language = view_metadata(services, view).get("language") or "en"
    kind = input_text(values, "kind")
    for file in files[:1]:
        _import(
            services,
            client,
            context.team_id,
            admin.id,
            language,
            file["id"],
            kind,
            input_text(values, "date_order"),
        )


def handle_map_button(
    ack: Ack, body: dict, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    """The mapping step for the file the report was about: its header row, read from the file's start."""
    ack()
    services, admin = services_of(context), admin_of(context)
    language = services.workspaces.language_for(context.team_id, admin)
    again = json.loads(body["actions"][0]["value"])
    try:
        file = client.files_info(file=again["file"])["file"]
        with download_private(client, file["url_private"], head=SAMPLE_BYTES) as head:
            step = services.pipeline.mapping_for(head, Kind(again["kind"]) if again.get("kind") else None)
    except (SlackApiError, DownloadRefused) as error:
        logger.warning("pipeline file %s could not be read: %s", again["file"], error)
        respond(
            replace_original=False,
            response_type="ephemeral",
            **services.presenter.slack_failed(language, "file_not_readable"),
        )
        return
    modal = services.pipeline_presenter.mapping_modal(
        language, step, file["id"], str(file.get("name") or file["id"]), again.get("date_order") or ""
    )
    open_modal_for_click(body, client, services, respond, language, modal)


def handle_mapping_submission(ack: Ack, view: dict, client: WebClient, context: BoltContext) -> None:
    """The columns chosen: each column for one field at most; then the file is imported with them."""
    services, admin = services_of(context), admin_of(context)
    metadata = view_metadata(services, view)
    language, kind = metadata.get("language") or "en", Kind(metadata["kind"])
    values = view["state"]["values"]
    chosen: ColumnMapping = {
        name: int(text) for name in fields_of(kind) if (text := input_text(values, name)).isdigit()
    }
    fields_by_column: dict[int, str] = {}
    errors = {}
    for name, index in chosen.items():
        if index in fields_by_column:
            errors[name] = "column_twice"
        fields_by_column.setdefault(index, name)
    if errors:
        ack(**services.presenter.field_errors(language, errors))
        return
    ack()
    date_order = input_text(values, "date_order") or metadata.get("date_order") or ""
    _import(
        services,
        client,
        context.team_id,
        admin.id,
        language,
        metadata["file"],
        kind.value,
        date_order,
        chosen,
    )


def handle_hubspot_submission(ack: Ack, view: dict, client: WebClient, context: BoltContext) -> None:
    """The token is checked against HubSpot, kept, and a first sync runs; the admin is told how it went."""
    ack()
    services, admin = services_of(context), admin_of(context)
    token = input_text(view["state"]["values"], "token").strip()
    language = view_metadata(services, view).get("language") or "en"
    runner = services.pipeline_sync
    report = connect_hubspot(
        services.database, context.team_id, token, admin.id, services.clock.now(), runner.client(token)
    )
    logger.info(
        "HubSpot connection for %s: %d leads, %d deals, error %s",
        context.team_id,
        report.leads,
        report.deals,
        report.error,
    )
    services.schedule_changed()
    _reply(client, admin.id, services.pipeline_presenter.sync_report(language, report))


def handle_file_shared(event: dict, client: WebClient, context: BoltContext) -> None:
    """A file shared in the bot's DM by a person (the bot's own exports land there too: not those)."""
    user_id, channel_id = event.get("user_id") or "", event.get("channel_id") or ""
    if user_id == context.bot_user_id or not channel_id.startswith("D") or not event.get("file_id"):
        return
    services = services_of(context)
    file = client.files_info(file=event["file_id"])["file"]
    if file.get("filetype") not in CSV_FILETYPES and not str(file.get("name", "")).lower().endswith(".csv"):
        return
    user = fetch_user(client, user_id)
    language = services.workspaces.language_for(context.team_id, user)
    if not services.workspaces.may_administer(context.team_id, user):
        _reply(client, user_id, refusal(services, context.team_id, language))
        return
    _import(services, client, context.team_id, user_id, language, file["id"], "", "")


def _import(
    services: Services,
    client: WebClient,
    team_id: str,
    user_id: str,
    language: str,
    file_id: str,
    kind: str,
    date_order: str,
    mapping: ColumnMapping | None = None,
) -> None:
    try:
        url = client.files_info(file=file_id)["file"]["url_private"]
        with download_private(client, url) as stream:
            report = services.pipeline.import_file(
                team_id, stream, Kind(kind) if kind else None, date_order or None, mapping
            )
    except (SlackApiError, DownloadRefused) as error:
        logger.warning("pipeline file %s could not be read: %s", file_id, error)
        _reply(client, user_id, services.presenter.slack_failed(language, "file_not_readable"))
        return
    logger.info("pipeline import of %s into %s: imported=%s", file_id, team_id, report.imported)
    again = {"file": file_id, "kind": kind, "date_order": date_order}
    _reply(client, user_id, services.pipeline_presenter.import_report(language, report, again))


def _reply(client: WebClient, user_id: str, message: dict) -> None:
    """Ephemerally, in the person's DM with the bot."""
    try:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.chat_postEphemeral(channel=channel, user=user_id, **message)
    except SlackApiError as error:
        logger.warning(
            "could not tell %s about their pipeline import: %s", user_id, error.response.get("error")
        )
