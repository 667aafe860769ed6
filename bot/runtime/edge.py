"""The door of /slack/events: a request is authenticated on its raw bytes before anything parses it.

Slack signs `v0:{timestamp}:{body}`; until that signature is checked the body is an attacker's bytes,
so the order is: a bounded read (413), one fresh numeric timestamp and a valid signature (401), then
decoding and parsing (400), then the fields the request's kind needs (400). Only then does Bolt see
it, with the body parsed here (not again); Bolt does not verify it again (`bot.runtime.app`). Every
refusal is a `Refused`, answered without a traceback.
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import BoltContext, BoltRequest
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request.internals import build_context

#: Slack's requests are a few KiB; a body larger than this is refused before it is read.
MAX_BODY_BYTES = 1024 * 1024
#: How far a request's timestamp may be from now, either way: Slack's own rule.
SIGNATURE_WINDOW_SECONDS = 5 * 60
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
#: The longest id (workspace, user, channel) kept: Slack's are about a dozen characters.
SLACK_ID_LENGTH = 32
#: Slack sends them all with every slash command; a listener answers through the response_url.
COMMAND_FIELDS = ("user_id", "team_id", "command", "trigger_id", "response_url")


class Refused(Exception):
    """A request answered at the door with `status`; `reason` is for the log, never the payload."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SlackDoor:
    """Turns a WSGI request into the `BoltRequest` Bolt dispatches, or raises `Refused`."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self.secret = signing_secret.encode()
        self.clock = clock

    def admit(self, environ: Mapping[str, Any]) -> BoltRequest:
        raw = self.authenticated_body(environ)
        content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "body is not UTF-8") from None
        fields = _form_fields(text) if content_type == FORM else None
        if fields is None and content_type != JSON:
            raise Refused(400, f"content type {content_type or 'missing'}")
        http = WsgiHttpRequest(dict(environ))
        try:
            request = (
                BoltRequest(body=text, query=http.query_string, headers=http.get_headers())
                if fields is None
                else ParsedRequest(text, _form_body(text, fields), http.query_string, http.get_headers())
            )
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as error:
            raise Refused(400, f"body Bolt cannot read ({type(error).__name__})") from None
        _check_fields(request.body, content_type)
        _check_ids(request.context)
        return request

    def authenticated_body(self, environ: Mapping[str, Any]) -> bytes:
        """The raw body, read only as far as its declared length and only if that is within bounds, and
        only returned if Slack signed it, with the timestamp it signed, within the last five minutes."""
        length = environ.get("CONTENT_LENGTH") or "0"
        if not (length.isascii() and length.isdigit()):
            raise Refused(400, "no valid Content-Length")
        if int(length) > MAX_BODY_BYTES:
            raise Refused(413, f"body of {length} bytes")
        raw = environ["wsgi.input"].read(int(length))
        if len(raw) != int(length):
            raise Refused(400, "body shorter than its Content-Length")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise Refused(401, "no single numeric timestamp")
        if abs(self.clock() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
            raise Refused(401, "timestamp outside the five-minute window")
        if not self.signed(raw, timestamp, signature):
            raise Refused(401, "signature does not match")
        return raw

    def signed(self, raw: bytes, timestamp: str, signature: str) -> bool:
        """The v0 HMAC over the bytes as received, compared in constant time. (slack_sdk's verifier
        decodes the body as UTF-8 first, so it cannot judge bytes that are not; Bolt uses it later.)"""
        digest = hmac.new(self.secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(b"v0=" + digest.encode(), signature.encode("latin-1", "replace"))


def _form_fields(text: str) -> dict[str, str]:
    """Strict parsing of what Bolt parses leniently: a form that is not a form, or a body Bolt would read
    as JSON or as an empty payload, is refused rather than guessed at."""
    if text.startswith("{"):
        raise Refused(400, "form Bolt would read as JSON")
    pairs = [pair.partition("=") for pair in text.split("&")] if text else []
    if not all(equals for _name, equals, _value in pairs):
        raise Refused(400, "form encoding is broken")
    try:
        fields = {_unquoted(name): _unquoted(value) for name, _equals, value in pairs}
    except ValueError:
        raise Refused(400, "form encoding is broken") from None
    if "payload" in text and "payload" not in fields:
        raise Refused(400, "form Bolt would read as an empty payload")
    return fields


def _unquoted(text: str) -> str:
    """`urllib.parse.unquote_plus(text, errors="strict")` in C, and stricter: a `%` without two hex digits
    after it is an error, not itself. (The standard library decodes escape by escape in Python: a tap's
    8 KiB of percent-encoded JSON was a tenth of its CPU.) Each `%XX` becomes an `\\xXX` escape of the
    `unicode_escape` codec, every backslash doubled first so that no other escape is read; that codec
    turns each byte into the code point of its number, so Latin-1 gives back the bytes, read as UTF-8."""
    if "%" not in text:
        return text.replace("+", " ")
    escaped = text.encode().replace(b"\\", b"\\\\").replace(b"%", b"\\x").replace(b"+", b" ")
    return codecs.decode(escaped, "unicode_escape").encode("latin-1").decode("utf-8")


def _form_body(text: str, fields: dict[str, str]) -> Any:
    """What Bolt makes of a form the door parsed (`slack_bolt.request.internals.parse_body`): the
    interaction's JSON payload, or the fields themselves (a slash command)."""
    return json.loads(fields["payload"]) if "payload" in text else fields


class ParsedRequest(BoltRequest):
    """A `BoltRequest` for a body the door has parsed already: Bolt keeps the raw text but does not parse
    it a second time (a tap's form is some 8 KiB of percent-encoded JSON, a tenth of the tap's CPU to
    decode)."""

    def __init__(self, raw_body: str, body: Any, query: str, headers: dict) -> None:
        super().__init__(body="", query=query, headers=headers)
        self.raw_body = raw_body
        self.body = body
        self.context = build_context(BoltContext({}), body) if isinstance(body, dict) else self.context


def _check_fields(body: Any, content_type: str) -> None:
    """The fields each kind of request needs before any listener may run; anything else is refused."""
    if not isinstance(body, dict):
        raise Refused(400, "body is not an object")
    if content_type == JSON:
        kind = body.get("type")
        if kind == "url_verification":
            _require(isinstance(body.get("challenge"), str), "url_verification without a challenge")
        elif kind == "event_callback":
            event = body.get("event")
            _require(_is_text(body.get("team_id")), "event without team_id")
            _require(isinstance(event, dict) and _is_text(event.get("type")), "event_callback without event")
        else:
            raise Refused(400, "unknown kind of JSON request")
    elif "ssl_check" in body:
        return
    elif "command" in body:
        missing = [name for name in COMMAND_FIELDS if not _is_text(body.get(name))]
        _require(not missing, f"slash command without {', '.join(missing)}")
    else:
        _check_interaction(body)


def _check_interaction(payload: dict) -> None:
    kind = payload.get("type")
    _require(kind in ("block_actions", "view_submission"), "unknown kind of interaction")
    _require(_has_id(payload.get("user")), f"{kind} without a user")
    _require(_has_id(payload.get("team")), f"{kind} without a team")
    if kind == "block_actions":
        actions = payload.get("actions")
        _require(
            isinstance(actions, list)
            and bool(actions)
            and all(isinstance(action, dict) and _is_text(action.get("action_id")) for action in actions),
            "block_actions without actions",
        )
        _require(payload.get("view") is None or isinstance(payload["view"], dict), "block_actions view")
    else:
        view = payload.get("view")
        submitted = isinstance(view, dict) and all(
            _is_text(view.get(name)) for name in ("type", "callback_id")
        )
        _require(submitted, "view_submission without a view")


def _check_ids(context: BoltContext) -> None:
    """The ids Bolt took from the body (a view's `app_installed_team_id` comes before `team.id`, a
    user's `team_id` before none) are Slack's: text of at most SLACK_ID_LENGTH characters, as the
    database keeps them, or absent."""
    for name in ("enterprise_id", "team_id", "user_id", "channel_id"):
        value = context.get(name)
        _require(value is None or (_is_text(value) and len(value) <= SLACK_ID_LENGTH), f"{name} is no id")


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise Refused(400, reason)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _has_id(value: Any) -> bool:
    return isinstance(value, dict) and _is_text(value.get("id"))
