"""The app leaving a workspace (many-workspace mode): uninstalled, or its bot token revoked.

Either way nothing more can be sent there, so its schedules stop at once and its installation is
forgotten; installing the app again resumes them.
"""

from __future__ import annotations

from slack_bolt import App, BoltContext

from handlers.common import services_of


def register(app: App) -> None:
    app.event("app_uninstalled")(handle_app_uninstalled)
    app.event("tokens_revoked")(handle_tokens_revoked)


def handle_app_uninstalled(context: BoltContext) -> None:
    services_of(context).installations.uninstall(context.enterprise_id, context.team_id)


def handle_tokens_revoked(event: dict, context: BoltContext) -> None:
    """Only the bot's token matters: the app asks for no user tokens."""
    if (event.get("tokens") or {}).get("bot"):
        services_of(context).installations.uninstall(context.enterprise_id, context.team_id)
