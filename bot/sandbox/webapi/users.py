"""users.info and users.list, with each person's timezone as Slack describes it at the sandbox clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.state import SlackState
from bot.sandbox.webapi.arguments import Method, is_true, known_user, page
from bot.sandbox.workspace import SandboxUser, SandboxWorkspace

# zoneinfo only knows abbreviations; Slack shows the long names.
_TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "+0330": "Iran Standard Time",
}


def users_info(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    user = known_user(ws, params.get("user"))
    return {"ok": True, "user": _user_object(state, ws, user, is_true(params.get("include_locale")))}


def users_list(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    users, next_cursor = page(ws.users, params, default_limit=len(ws.users))
    include_locale = is_true(params.get("include_locale"))
    return {
        "ok": True,
        "members": [_user_object(state, ws, u, include_locale) for u in users],
        "cache_ts": int(state.clock()),
        "response_metadata": {"next_cursor": next_cursor},
    }


def _user_object(
    state: SlackState, ws: SandboxWorkspace, user: SandboxUser, include_locale: bool
) -> dict[str, Any]:
    now = datetime.fromtimestamp(state.clock(), ZoneInfo(user.tz))
    offset = now.utcoffset()
    abbreviation = now.tzname() or ""
    profile: dict[str, Any] = {
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.display_name,
        "display_name_normalized": user.display_name,
        "team": ws.team_id,
        "status_emoji": user.status_emoji,
        "status_text": user.status_text,
        "status_expiration": user.status_expiration,
    }
    if user.bot_id:
        profile["bot_id"] = user.bot_id
    obj: dict[str, Any] = {
        "id": user.id,
        "team_id": ws.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": _TZ_LABELS.get(abbreviation, abbreviation),
        "tz_offset": int(offset.total_seconds()) if offset else 0,
        "profile": profile,
        "is_admin": user.is_admin,
        "is_owner": user.is_owner,
        "is_primary_owner": user.is_owner,
        "is_restricted": user.is_restricted,
        "is_ultra_restricted": user.is_ultra_restricted,
        "is_bot": user.is_bot,
        "is_app_user": user.is_app_user,
        "updated": int(state.clock()),
    }
    if include_locale:
        obj["locale"] = user.locale
    return obj


METHODS: dict[str, Method] = {"users.info": users_info, "users.list": users_list}
