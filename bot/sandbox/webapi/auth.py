"""auth.test: who the token is (the OAuth exchange is not a token-authenticated method; see http)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.state import SlackState
from bot.sandbox.webapi.arguments import Method
from bot.sandbox.workspace import SandboxWorkspace


def auth_test(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    bot = ws.user(ws.bot_user_id)
    return {
        "ok": True,
        "url": ws.url,
        "team": ws.team_name,
        "user": bot.name if bot else "bot",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


METHODS: dict[str, Method] = {"auth.test": auth_test}
