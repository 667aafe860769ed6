"""Sends requests to a running bot exactly as Slack does: signed, in Slack's wire formats.

Slash commands are form-encoded fields; interactions are form-encoded with one `payload`
field holding JSON; Events API requests are JSON. Every request carries the v0 HMAC
signature over `v0:{timestamp}:{body}` made with the app's signing secret.

`SocketModeDriver` sends the same requests over Socket Mode instead: each as the envelope Slack
puts on the app's WebSocket, answered by the bot's ack.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import SandboxWorkspace

#: How a submitted element's value appears in `view.state.values`, by element type.
_STATE_KEYS = {
    "plain_text_input": "value",
    "number_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "static_select": "selected_option",
    "radio_buttons": "selected_option",
    "checkboxes": "selected_options",
    "multi_static_select": "selected_options",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "file_input": "files",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}
_INITIAL_KEYS = {
    "plain_text_input": "initial_value",
    "number_input": "initial_value",
    "static_select": "initial_option",
    "radio_buttons": "initial_option",
    "checkboxes": "initial_options",
    "multi_static_select": "initial_options",
    "conversations_select": "initial_conversation",
    "multi_conversations_select": "initial_conversations",
    "users_select": "initial_user",
    "multi_users_select": "initial_users",
    "datepicker": "initial_date",
    "timepicker": "initial_time",
}


@dataclass
class DriverResponse:
    """What the bot answered over HTTP, plus the response_url Slack gave it (if any)."""

    status: int
    body: str
    response_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    sent: urllib.request.Request | None = None
    """The request as sent, signature and all (see `SlackDriver.resend`)."""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is handed back to the caller (as an HTTPError), as a test wants to see it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_KeepRedirects)


def sign(signing_secret: str, timestamp: int, body: bytes) -> str:
    basestring = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), basestring, hashlib.sha256).hexdigest()


def state_from_inputs(view: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict:
    """Build `state.values` for a view: given values where named, the initial values elsewhere.

    `inputs` maps block ids to plain values: a string for text and number inputs, an option
    value for selects (the option is looked up in the view), an id or list of ids for
    conversation and user pickers.
    """
    values: dict[str, dict] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind = element["type"]
        block_id, action_id = block["block_id"], element["action_id"]
        state: dict[str, Any] = {"type": kind}
        if block_id in inputs:
            value = inputs[block_id]
            if kind in ("static_select", "radio_buttons"):
                value = _option(element, value)
            elif kind in ("checkboxes", "multi_static_select"):
                value = [_option(element, v) for v in value]
            state[_STATE_KEYS[kind]] = value
        elif _INITIAL_KEYS.get(kind) in element:
            state[_STATE_KEYS[kind]] = element[_INITIAL_KEYS[kind]]
        elif kind in _STATE_KEYS:
            state[_STATE_KEYS[kind]] = [] if kind.startswith("multi_") or kind == "checkboxes" else None
        values[block_id] = {action_id: state}
    return values


def _option(element: Mapping[str, Any], value: str | None) -> dict | None:
    if value is None:
        return None
    for option in element.get("options", []):
        if option["value"] == value:
            return option
    return {"text": {"type": "plain_text", "text": value}, "value": value}


class SlackDriver:
    """Plays Slack's part towards the bot; the sandbox supplies trigger ids and response URLs.

    Its requests come from people of one workspace (the sandbox's first, unless told otherwise);
    `for_workspace` gives a driver for another.
    """

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        sandbox: SlackSandbox,
        clock: Callable[[], float] = time.time,
        path: str = "/slack/events",
        workspace: SandboxWorkspace | None = None,
    ) -> None:
        self.bot_url = bot_url.rstrip("/")
        self.events_url = self.bot_url + path
        self.signing_secret = signing_secret
        self.sandbox = sandbox
        self.clock = clock
        self.workspace = workspace or sandbox.workspace
        self._event_ids = itertools.count(1)

    def for_workspace(self, workspace: SandboxWorkspace) -> SlackDriver:
        """The same Slack, acting for people of `workspace`."""
        path = self.events_url.removeprefix(self.bot_url)
        return SlackDriver(self.bot_url, self.signing_secret, self.sandbox, self.clock, path, workspace)

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    # -- the OAuth install, as a person's browser goes through it ----------------------------

    def install(self, installer: str | None = None) -> DriverResponse:
        """Install the app in this driver's workspace: open the bot's /slack/install, approve on Slack's
        authorize page, follow Slack's redirect back to /slack/oauth_redirect with the state cookie."""
        start = self.browse("/slack/install")
        approved = self.sandbox.approve_install(start.headers["Location"], self.team_id, installer)
        return self.browse(
            f"/slack/oauth_redirect?{urlencode(approved)}", cookie=start.headers.get("Set-Cookie")
        )

    def browse(self, path: str, cookie: str | None = None) -> DriverResponse:
        """GET a page of the bot as a browser would, without following a redirect; `cookie` is a
        Set-Cookie value the bot gave earlier."""
        headers = {"Cookie": cookie.split(";", 1)[0]} if cookie else {}
        request = urllib.request.Request(self.bot_url + path, headers=headers, method="GET")
        try:
            with _NO_REDIRECTS.open(request, timeout=10) as answer:
                return DriverResponse(answer.status, answer.read().decode(), headers=dict(answer.headers))
        except urllib.error.HTTPError as error:
            return DriverResponse(error.code, error.read().decode(), headers=dict(error.headers))

    # -- the three wire formats -------------------------------------------------------

    def slash_command(
        self,
        user_id: str,
        text: str = "",
        command: str = "/align",
        channel_id: str | None = None,
        trigger_id: str | None = None,
    ) -> DriverResponse:
        """`trigger_id` defaults to a fresh one; pass an older one to play a request Slack delivered late."""
        workspace = self.workspace
        channel_id = channel_id or self._dm_with_bot(user_id)
        channel = workspace.channel(channel_id)
        response_url = self.sandbox.issue_response_url(channel_id, user_id)
        fields = {
            "token": "sandbox-verification-token",
            "team_id": workspace.team_id,
            "team_domain": workspace.domain,
            "channel_id": channel_id,
            "channel_name": channel.name if channel else "directmessage",
            "user_id": user_id,
            "user_name": workspace.user(user_id).name,
            "command": command,
            "text": text,
            "api_app_id": workspace.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or self.sandbox.issue_trigger_id(user_id),
        }
        body = urlencode(fields).encode()
        response = self.post(body, "application/x-www-form-urlencoded")
        response.response_url = response_url
        return response

    def interaction(self, payload: Mapping[str, Any]) -> DriverResponse:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded")

    def event(
        self,
        event: Mapping[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> DriverResponse:
        envelope = self.event_payload(event, event_id)
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.post(json.dumps(envelope).encode(), "application/json", headers)

    def event_payload(self, event: Mapping[str, Any], event_id: str | None = None) -> dict[str, Any]:
        """The Events API `event_callback` Slack sends for `event` (see `event`)."""
        workspace = self.workspace
        return {
            "token": "sandbox-verification-token",
            "team_id": workspace.team_id,
            "api_app_id": workspace.app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._event_ids):010d}",
            "event_time": int(self.clock()),
            "authorizations": [
                {"team_id": workspace.team_id, "user_id": workspace.bot_user_id, "is_bot": True}
            ],
            "is_ext_shared_channel": False,
        }

    # -- interactions, built the way Slack builds them ----------------------------------

    def click(
        self, user_id: str, action_id: str, value: str | None = None, block_id: str = "", **where: Any
    ) -> DriverResponse:
        """A button press in a message (`message=`, `channel_id=`) or in a view (`view=`)."""
        payload = self.button_payload(user_id, action_id, value, block_id, **where)
        response = self.interaction(payload)
        response.response_url = payload.get("response_url")
        return response

    def button_payload(
        self,
        user_id: str,
        action_id: str,
        value: str | None = None,
        block_id: str = "",
        *,
        view: Mapping[str, Any] | None = None,
        message: Mapping[str, Any] | None = None,
        channel_id: str | None = None,
    ) -> dict[str, Any]:
        """The `block_actions` payload Slack sends for a button press (see `click`)."""
        action: dict[str, Any] = {
            "type": "button",
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": f"{self.clock():.6f}",
        }
        if value is not None:
            action["value"] = value
        payload: dict[str, Any] = {**self._interaction_common("block_actions", user_id), "actions": [action]}
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = dict(view)
            return payload
        channel_id = channel_id or (message or {}).get("channel") or self._dm_with_bot(user_id)
        payload["container"] = {
            "type": "message",
            "message_ts": (message or {}).get("ts"),
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id}
        payload["message"] = dict(message or {})
        message_ts = (message or {}).get("ts")
        payload["response_url"] = self.sandbox.issue_response_url(channel_id, user_id, message_ts)
        return payload

    def submit_view(self, user_id: str, view: Mapping[str, Any], inputs: Mapping[str, Any]) -> DriverResponse:
        """Submit a modal the bot opened, with `inputs` (see `state_from_inputs`)."""
        return self.interaction(self.submission_payload(user_id, view, inputs))

    def submission_payload(
        self, user_id: str, view: Mapping[str, Any], inputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The `view_submission` payload Slack sends when a person submits a modal (see `submit_view`)."""
        submitted = dict(view)
        submitted["state"] = {"values": state_from_inputs(view, inputs)}
        return {
            **self._interaction_common("view_submission", user_id),
            "view": submitted,
            "response_urls": [],
        }

    def _interaction_common(self, kind: str, user_id: str) -> dict[str, Any]:
        workspace = self.workspace
        user = workspace.user(user_id)
        return {
            "type": kind,
            "team": {"id": workspace.team_id, "domain": workspace.domain},
            "user": {"id": user_id, "username": user.name, "name": user.name, "team_id": workspace.team_id},
            "api_app_id": workspace.app_id,
            "token": "sandbox-verification-token",
            "trigger_id": self.sandbox.issue_trigger_id(user_id),
            "is_enterprise_install": False,
            "enterprise": None,
        }

    # -- transport ------------------------------------------------------------------

    def post(
        self,
        body: bytes,
        content_type: str,
        extra_headers: Mapping[str, str] | None = None,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        omit: tuple[str, ...] = (),
    ) -> DriverResponse:
        """POST a body to the bot, signed; tests may forge the timestamp or signature, or omit headers."""
        timestamp = int(self.clock()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature or sign(self.signing_secret, timestamp, body),
            **(extra_headers or {}),
        }
        for name in omit:
            headers.pop(name, None)
        return self._send(urllib.request.Request(self.events_url, data=body, headers=headers, method="POST"))

    def resend(self, response: DriverResponse) -> DriverResponse:
        """Send the request behind `response` again, byte for byte with its timestamp and signature, as
        anyone who saw it could while the signature is valid (five minutes)."""
        assert response.sent is not None, "this response came from no request sent by the driver"
        sent = response.sent
        again = urllib.request.Request(sent.full_url, data=sent.data, headers=sent.headers, method="POST")
        replayed = self._send(again)
        replayed.response_url = response.response_url
        return replayed

    @staticmethod
    def _send(request: urllib.request.Request) -> DriverResponse:
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return DriverResponse(answer.status, answer.read().decode(), sent=request)
        except urllib.error.HTTPError as error:
            return DriverResponse(error.code, error.read().decode(), sent=request)

    def _dm_with_bot(self, user_id: str) -> str:
        return self.sandbox.dm_channel_for(user_id)


class SocketModeDriver(SlackDriver):
    """Plays Slack's part over Socket Mode: every request the HTTP driver would POST goes instead as
    an envelope on one of the bot's connections to the sandbox (`events_api`, `interactive` or
    `slash_commands`), and what comes back is the bot's ack: 200 with the ack's payload as the body
    (a slash command's reply, a view submission's `response_action`), or 504 if none came in time.
    Socket Mode has no signature, so forged timestamps and signatures have no meaning here."""

    def __init__(
        self,
        sandbox: SlackSandbox,
        workspace: SandboxWorkspace | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__("ws://socket-mode", "", sandbox, clock, workspace=workspace)

    def for_workspace(self, workspace: SandboxWorkspace) -> SocketModeDriver:
        return SocketModeDriver(self.sandbox, workspace, self.clock)

    def post(
        self,
        body: bytes,
        content_type: str,
        extra_headers: Mapping[str, str] | None = None,
        **_signing: Any,
    ) -> DriverResponse:
        """Send as an envelope; an Events API retry (`X-Slack-Retry-Num`) as a `retry_attempt`."""
        headers = {name.lower(): value for name, value in (extra_headers or {}).items()}
        kind, payload = envelope_of(body, content_type)
        sent = self.sandbox.socket_mode.request(
            self.team_id,
            kind,
            payload,
            retry_attempt=int(headers.get("x-slack-retry-num", 0)),
            retry_reason=headers.get("x-slack-retry-reason", ""),
        )
        ack = sent[-1].ack
        if ack is None:
            return DriverResponse(504, "no ack")
        return DriverResponse(200, json.dumps(ack.payload) if ack.payload else "")


def envelope_of(body: bytes, content_type: str) -> tuple[str, dict[str, Any]]:
    """The Socket Mode envelope type and payload of a request as it would be POSTed over HTTP."""
    if content_type.startswith("application/json"):
        return "events_api", json.loads(body)
    form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    if "payload" in form:
        return "interactive", json.loads(form["payload"])
    return "slash_commands", form
