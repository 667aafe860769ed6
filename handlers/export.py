"""`/align export`: the weekly results as a CSV file, to the admin's DM."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from bot.domain.export import rows, to_csv
from bot.domain.pipeline_digest import export_rows
from bot.services.insights import TREND_WEEKS
from bot.services.pipeline import weekly_figures

if TYPE_CHECKING:
    from handlers.common import Invocation


def export_command(invocation: Invocation) -> dict:
    services, team_id = invocation.services, invocation.team_id
    present, language = invocation.presenter, invocation.language
    if services.workspaces.config(team_id) is None:
        return present.notice(language, "setup_first")
    now, as_of = services.clock.now(), services.insights.as_of(team_id)
    weeks = [
        (end.date(), results)
        for end, results in services.insights.weekly_results(team_id, as_of, TREND_WEEKS)
    ]
    items, dimensions = services.insights.texts(team_id, language)
    config = services.workspaces.config(team_id)
    pipeline = weekly_figures(
        services.database,
        team_id,
        [week for week, _ in weeks],
        ZoneInfo(config.timezone),
        config.anonymity_threshold,
    )
    table = rows(weeks, items, dimensions) + export_rows(pipeline)
    content = to_csv(table).encode("utf-8-sig")  # the BOM makes Excel read UTF-8
    comment = present.notice(language, "export_ready")["text"]
    try:
        channel = invocation.client.conversations_open(users=invocation.user.id)["channel"]["id"]
        invocation.client.files_upload_v2(
            channel=channel,
            content=content,
            filename=f"alignbot-results-{now.date().isoformat()}.csv",
            title=f"alignbot {now.date().isoformat()}",
            initial_comment=comment,
        )
    except SlackApiError as error:
        return present.slack_failed(language, str(error.response.get("error")))
    return present.notice(language, "export_sent")
