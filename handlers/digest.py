"""`/align digest …`: the leadership digest on demand."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.insights import DEFAULT_WINDOW

if TYPE_CHECKING:
    from handlers.align_command import Invocation


def digest_command(invocation: Invocation) -> dict:
    services, team_id = invocation.services, invocation.team_id
    action = invocation.parsed.args[0].lower() if invocation.parsed.args else "preview"
    if action == "send":
        outcome = services.digests.send_now(team_id)
        return invocation.render("notice", kind=f"digest_{outcome}")
    if action != "preview":
        return invocation.render("notice", kind="digest_usage")
    config = services.workspaces.config(team_id)
    if config is None:
        return invocation.render("notice", kind="setup_first")
    view = services.insights.digest(team_id, services.clock.now(), config.timezone)
    items, dimensions = services.insights.texts(team_id, invocation.language)
    return invocation.render(
        "digest",
        view=view,
        items=items,
        dimensions=dimensions,
        threshold=config.anonymity_threshold,
        window_weeks=DEFAULT_WINDOW.days // 7,
    )
