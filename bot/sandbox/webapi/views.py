"""views.open, views.push, views.update and views.publish: modals (opened with a trigger_id) and Home tabs."""

from __future__ import annotations

from typing import Any

from bot.sandbox.blockkit import validate_payload
from bot.sandbox.state import TRIGGER_TTL_SECONDS, IssuedTrigger, SandboxView, SlackState
from bot.sandbox.webapi.arguments import ApiError, Method, decoded, invalid_arguments, known_user
from bot.sandbox.workspace import SandboxWorkspace


def views_open(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    trigger, view = _take_trigger(state, ws, params, "views.open")
    return {"ok": True, "view": _new_view(state, ws, trigger.user_id, view, None, None).view}


def views_push(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    trigger, view = _take_trigger(state, ws, params, "views.push")
    below = state.latest_modal(trigger.user_id)
    root_view_id, previous_view_id = (below.root_view_id, below.id) if below else (None, None)
    stored = _new_view(state, ws, trigger.user_id, view, root_view_id, previous_view_id)
    return {"ok": True, "view": stored.view}


def views_update(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    view_id, external_id = params.get("view_id"), params.get("external_id")
    if not (view_id or external_id):
        raise invalid_arguments("one of view_id or external_id is required")
    stored = (
        state.views.get(view_id)
        if view_id
        else next((v for v in state.views.values() if v.external_id == external_id), None)
    )
    if stored is None or ws.user(stored.user_id) is None:  # none, or another workspace's
        raise ApiError("not_found")
    if params.get("hash") and params["hash"] != stored.hash:
        raise ApiError("hash_conflict")
    _set_view_version(state, ws, stored, _checked_view("views.update", params))
    return {"ok": True, "view": stored.view}


def views_publish(state: SlackState, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("user_id"):
        raise invalid_arguments("missing required field: user_id")
    user = known_user(ws, params["user_id"])
    view = _checked_view("views.publish", params)
    _check_slack_files(state, ws, view)
    stored = state.home_views.get(user.id)
    if stored is None:
        stored = state.home_views[user.id] = _new_view(state, ws, user.id, view, None, None)
        return {"ok": True, "view": stored.view}
    if params.get("hash") and params["hash"] != stored.hash:
        raise ApiError("hash_conflict")
    _set_view_version(state, ws, stored, view)
    return {"ok": True, "view": stored.view}


def _take_trigger(
    state: SlackState, ws: SandboxWorkspace, params: dict[str, Any], method: str
) -> tuple[IssuedTrigger, dict[str, Any]]:
    """The valid trigger and checked view of a views.open/push call; marks the trigger used."""
    trigger_id = params.get("trigger_id")
    if not trigger_id:
        raise invalid_arguments("missing required field: trigger_id")
    trigger = state.triggers.get(trigger_id)
    if trigger is None or ws.user(trigger.user_id) is None:  # another workspace's trigger
        raise ApiError("invalid_trigger_id")
    if trigger.used or state.clock() - trigger.issued_at > TRIGGER_TTL_SECONDS:
        raise ApiError("expired_trigger_id")
    view = _checked_view(method, params)
    trigger.used = True
    return trigger, view


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")  # the Slack files an image block can show


def _check_slack_files(state: SlackState, ws: SandboxWorkspace, view: dict[str, Any]) -> None:
    """An image block's `slack_file` must be an image the app itself uploaded, as Slack requires."""
    for block in view.get("blocks") or []:
        file_id = (block.get("slack_file") or {}).get("id") if block.get("type") == "image" else None
        if file_id is None:
            continue
        file = state.files.get(file_id)
        if (
            file is None
            or not file.completed
            or file.user != ws.bot_user_id
            or not file.name.endswith(".png")
        ):
            raise invalid_arguments(f"invalid slack_file: {file_id} is not an image the app uploaded")


def _checked_view(method: str, params: dict[str, Any]) -> dict[str, Any]:
    if problems := validate_payload(method, params):
        raise invalid_arguments(*problems)
    return decoded(params["view"])


def _new_view(
    state: SlackState,
    ws: SandboxWorkspace,
    user_id: str,
    view: dict[str, Any],
    root_view_id: str | None,
    previous_view_id: str | None,
) -> SandboxView:
    view_id = state.next_id("V")
    stored = SandboxView(
        view_id, user_id, {}, "", root_view_id or view_id, previous_view_id, view.get("external_id")
    )
    _set_view_version(state, ws, stored, view)
    state.views[view_id] = stored
    return stored


def _set_view_version(
    state: SlackState, ws: SandboxWorkspace, stored: SandboxView, view: dict[str, Any]
) -> None:
    """Make ``view`` the current version of ``stored``, shaped as Slack answers it."""
    stored.hash = f"{int(state.clock())}.{state.next_number('hash'):08x}"
    stored.view = {
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        "clear_on_close": False,
        "notify_on_close": False,
        "title": None,
        "close": None,
        "submit": None,
        **view,
        "id": stored.id,
        "team_id": ws.team_id,
        "app_installed_team_id": ws.team_id,
        "state": {"values": {}},
        "hash": stored.hash,
        "root_view_id": stored.root_view_id,
        "previous_view_id": stored.previous_view_id,
        "app_id": ws.app_id,
        "bot_id": ws.bot_id,
    }
    stored.history.append(stored.view)
    state.view_changes[stored.id] = state.next_number("view change")


METHODS: dict[str, Method] = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
