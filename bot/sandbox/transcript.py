"""A readable account of what people saw in the sandbox: messages, ephemerals, modals, Home tabs.

The demo prints it; it is also handy when a scenario test fails and you want to see why.
"""

from __future__ import annotations

import html
import json
import re
import textwrap
from collections import Counter
from typing import Any

from bot.sandbox.server import SlackSandbox

_WIDTH = 96
#: How `tally` counts what people were shown, by Slack method.
_KINDS = {
    "chat.postMessage": "messages",
    "chat.postEphemeral": "ephemeral replies",
    "chat.update": "updates",
    "views.open": "forms",
    "views.publish": "Home tabs",
}


class Transcript:
    """Reads what the sandbox recorded since the last call and turns it into lines of text."""

    def __init__(self, sandbox: SlackSandbox) -> None:
        self.sandbox = sandbox
        self._calls_seen = 0
        self._posts_seen = 0

    def new_entries(self, people: set[str] | None = None) -> list[str]:
        """What was seen since the last call; with `people`, only what they saw, the rest counted."""
        calls = self.sandbox.calls[self._calls_seen :]
        posts = self.sandbox.response_url_posts[self._posts_seen :]
        self._calls_seen += len(calls)
        self._posts_seen += len(posts)
        lines: list[str] = []
        others = 0
        for post in posts:
            if isinstance(post.body, dict):
                if people is None or post.user_id in people:
                    if post.body.get("replace_original"):
                        heading = f"{self._name(post.user_id)}'s message, updated in place"
                    else:
                        heading = f"only {self._name(post.user_id)} sees (ephemeral)"
                    lines += self._entry(heading, post.body)
                else:
                    others += 1
        for call in calls:
            if people is None or self._audience(call.method, call.params, call.response or {}) in people:
                lines += self._describe_call(call.method, call.params, call.response or {})
            elif call.method in ("chat.postMessage", "chat.update", "views.open", "views.publish"):
                others += 1
        if others:
            lines.append(f"  (+ {others} more messages and updates to other people)")
        return lines

    def tally(self) -> Counter[str]:
        """Pass over what was seen since the last call, counted by kind, for a one-line summary."""
        calls = self.sandbox.calls[self._calls_seen :]
        posts = self.sandbox.response_url_posts[self._posts_seen :]
        self._calls_seen += len(calls)
        self._posts_seen += len(posts)
        counts: Counter[str] = Counter()
        for call in calls:
            if (call.response or {}).get("ok"):
                if call.method in _KINDS:
                    counts[_KINDS[call.method]] += 1
            elif call.method != "auth.test":
                counts["failed calls"] += 1
        for post in posts:
            if isinstance(post.body, dict):
                counts["updates" if post.body.get("replace_original") else "ephemeral replies"] += 1
        return counts

    def read(self, content: dict) -> list[str]:
        """A message or view as its reader sees it, with people's and channels' names for their ids."""
        return describe(content, self._name, self._channel_name)

    def _audience(self, method: str, params: dict, response: dict) -> str | None:
        """The person a call was for, when it was for one person; else the channel it went to."""
        if method in ("views.publish",):
            return params.get("user_id")
        if method in ("views.open", "views.push", "views.update"):
            return _user_of(self.sandbox, response.get("view") or {})
        channel = str(response.get("channel") or params.get("channel") or "")
        if channel.startswith(("D", "U")):
            return "U" + channel[1:]
        return params.get("user") or channel

    def _describe_call(self, method: str, params: dict, response: dict) -> list[str]:
        if not response.get("ok"):
            return (
                [f"  ✗ {method} failed: {response.get('error', 'no answer')}"]
                if method != "auth.test"
                else []
            )
        if method == "chat.postMessage":
            where = self._where(response.get("channel", ""))
            return self._entry(where, response.get("message") or params)
        if method == "chat.postEphemeral":
            return self._entry(f"only {self._name(params.get('user'))} sees (ephemeral)", params)
        if method == "chat.update":
            return self._entry(f"message updated in {self._where(response.get('channel', ''))}", params)
        if method in ("views.open", "views.push", "views.update"):
            view = response.get("view") or {}
            return self._entry(f"a form opens for {self._name(_user_of(self.sandbox, view))}", view)
        if method == "views.publish":
            return self._entry(f"{self._name(params.get('user_id'))}'s Home tab", response.get("view") or {})
        return []

    def _entry(self, heading: str, content: dict) -> list[str]:
        lines = [f"  ┌─ {heading}"]
        lines += [f"  │ {line}" for line in self.read(content)]
        lines.append("  └─")
        return lines

    def _where(self, channel_id: str) -> str:
        for user in self.sandbox.workspace.users:
            if self.sandbox.dm_channel_for(user.id) == channel_id or user.id == channel_id:
                return f"DM to {user.real_name}"
        return f"#{self._channel_name(channel_id)}"

    def _name(self, user_id: str | None) -> str:
        user = self.sandbox.workspace.user(user_id or "")
        return user.real_name if user else str(user_id)

    def _channel_name(self, channel_id: str) -> str:
        channel = self.sandbox.workspace.channel(channel_id)
        return channel.name if channel else channel_id


def _user_of(sandbox: SlackSandbox, view: dict) -> str | None:
    stored = sandbox.views.get(view.get("id", ""))
    return stored.user_id if stored else None


def describe(
    content: dict, name_of=lambda user_id: user_id, channel_name_of=lambda channel_id: channel_id
) -> list[str]:
    """Lines of text for a message (`blocks` or `text`) or a view, as a person would read them."""

    def plain(text: Any) -> str:
        if isinstance(text, dict):
            text = text.get("text", "")
        text = re.sub(r"<@(\w+)>", lambda m: "@" + name_of(m.group(1)), str(text))
        text = re.sub(r"<#(\w+)(\|[^>]*)?>", lambda m: "#" + channel_name_of(m.group(1)), text)
        text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)
        return html.unescape(text)

    blocks = content.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    lines: list[str] = []
    if content.get("title"):
        lines.append(f"【 {plain(content['title'])} 】")
    if not blocks:
        return lines + _wrap(plain(content.get("text", "")))
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"▌ {plain(block['text'])}")
        elif kind == "section":
            if block.get("text"):
                lines += _wrap(plain(block["text"]))
            for field in block.get("fields", []):
                lines += _wrap("· " + plain(field).replace("\n", ": ", 1))
            if block.get("accessory", {}).get("type") == "button":
                lines.append(f"[ {plain(block['accessory']['text'])} ]")
        elif kind == "context":
            lines += _wrap(
                " ".join(plain(e) for e in block.get("elements", []) if e.get("type") != "image"), "ⓘ "
            )
        elif kind == "divider":
            lines.append("─" * 40)
        elif kind == "actions":
            lines.append(" ".join(_button(e, plain) for e in block.get("elements", [])))
        elif kind == "input":
            element = block.get("element", {})
            shown = _initial(element)
            optional = " (optional)" if block.get("optional") else ""
            lines.append(f"{plain(block['label'])}{optional}: [ {shown} ]")
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
    if content.get("submit"):
        lines.append(f"[ {plain(content['submit'])} ]  [ {plain(content.get('close', 'Cancel'))} ]")
    return lines


def _initial(element: dict) -> str:
    for key in ("initial_value", "initial_conversation", "initial_user", "initial_time", "initial_date"):
        if element.get(key):
            return str(element[key])
    for key in ("initial_conversations", "initial_users"):
        if element.get(key):
            return ", ".join(element[key])
    if element.get("initial_option"):
        return element["initial_option"]["text"]["text"]
    if element.get("initial_options"):
        return ", ".join(option["text"]["text"] for option in element["initial_options"])
    placeholder = element.get("placeholder")
    return placeholder["text"] if isinstance(placeholder, dict) else "…"


def _button(element: dict, plain) -> str:
    """A button as `[ text ]`, or `[✓ text ]` when it is the highlighted (chosen) one."""
    mark = "✓" if element.get("style") == "primary" else " "
    return f"[{mark}{plain(element.get('text', element.get('type')))} ]"


def _wrap(text: str, prefix: str = "") -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(prefix + paragraph, _WIDTH, subsequent_indent=" " * len(prefix)) or [""]
    return lines
