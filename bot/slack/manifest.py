"""The Slack app manifest: exactly the scopes, command, events and interactivity the bot uses.

`METHOD_SCOPES` is the single list of Web API methods the bot calls and the scope each
needs; a test checks every method the sandbox saw the bot call against it.
"""

from __future__ import annotations

import json
from urllib.parse import urljoin

COMMAND = "/align"
BOT_EVENTS = ("app_home_opened", "file_shared")
#: What a multi-workspace app (OAuth) hears besides: when a workspace lets it go.
INSTALLATION_EVENTS = ("app_uninstalled", "tokens_revoked")

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postEphemeral": ("chat:write",),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.members": ("channels:read", "groups:read"),
    "conversations.open": ("im:write",),
    "files.completeUploadExternal": ("files:write",),
    "files.getUploadURLExternal": ("files:write",),
    "files.info": ("files:read",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "views.open": (),
    "views.publish": (),
}


def bot_scopes() -> list[str]:
    scopes = {"commands"}
    for needed in METHOD_SCOPES.values():
        scopes.update(needed)
    return sorted(scopes)


def manifest(request_url: str | None = None, socket_mode: bool = False, oauth: bool = False) -> dict:
    """The manifest for HTTP mode (with `request_url`) or Socket Mode (no URLs at all); `oauth` for an
    app many workspaces install (HTTP mode): Slack sends installers back beside `request_url`."""
    url = {} if socket_mode else {"url": request_url or "https://alignbot.example.com/slack/events"}
    request = {} if socket_mode else {"request_url": url["url"]}
    oauth_config: dict = {"scopes": {"bot": bot_scopes()}}
    if oauth:
        oauth_config = {"redirect_urls": [urljoin(url["url"], "oauth_redirect")], **oauth_config}
    events = list(BOT_EVENTS) + (list(INSTALLATION_EVENTS) if oauth else [])
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "alignbot",
            "description": "Helps sales and marketing end the war: pulses, digests, joint meetings.",
            "background_color": "#2c2d30",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": "alignbot", "always_online": True},
            "slash_commands": [
                {
                    "command": COMMAND,
                    **url,
                    "description": "Set up and use alignbot",
                    "usage_hint": "help | setup | status | pulse | questions | meeting | digest | language",
                    "should_escape": False,
                }
            ],
        },
        "oauth_config": oauth_config,
        "settings": {
            "event_subscriptions": {**request, "bot_events": events},
            "interactivity": {"is_enabled": True, **request},
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_json(request_url: str | None = None, socket_mode: bool = False, oauth: bool = False) -> str:
    return json.dumps(manifest(request_url, socket_mode, oauth), indent=2, ensure_ascii=False) + "\n"
