"""Block Kit validation for the sandbox: reject what Slack would reject, so tests catch it first.

slack_sdk's models carry most of Slack's per-element rules (text lengths, required fields); this
module runs them on plain dicts and adds the limits the models don't check: block counts, message
text length, duplicate block ids, and fields slack_sdk doesn't know (which Slack rejects too).
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any, Literal

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000

MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral", "response_url"})
"""Methods whose payload is a message; "response_url" stands for a POST to a response URL."""
MODAL_METHODS = frozenset({"views.open", "views.push", "views.update"})
HOME_METHODS = frozenset({"views.publish"})

# The keys of a view the API adds itself; a client may echo them back without Slack complaining.
_VIEW_KEYS_SET_BY_SLACK = frozenset(
    {"id", "team_id", "app_id", "bot_id", "root_view_id", "previous_view_id", "app_installed_team_id"}
)
_STAND_IN_BLOCK = {"type": "divider"}


def validate_message_blocks(blocks: Any) -> list[str]:
    """Problems Slack would report for a message's ``blocks`` (empty list: valid)."""
    if not isinstance(blocks, list):
        return _validate_blocks(blocks, MAX_MESSAGE_BLOCKS, "blocks")
    return list(_message_blocks_problems(json.dumps(blocks)))


@functools.lru_cache(maxsize=10_000)
def _message_blocks_problems(encoded: str) -> tuple[str, ...]:
    """A message's blocks' problems, by their JSON: a round's DMs carry the same blocks, so one
    encoding of the list stands for the encoding of each block (see `_block_problems`)."""
    return tuple(_validate_blocks(json.loads(encoded), MAX_MESSAGE_BLOCKS, "blocks"))


def validate_view(view: Any, surface: Literal["modal", "home"]) -> list[str]:
    """Problems Slack would report for a view published to ``surface`` (empty list: valid)."""
    if not isinstance(view, dict):
        return ["view: must be a JSON object"]
    problems = []
    if view.get("type") != surface:
        problems.append(f"view.type: must be {surface!r}, got {view.get('type')!r}")
    if not view.get("blocks"):
        problems.append("view.blocks: at least one block required")
    else:
        problems += _validate_blocks(view["blocks"], MAX_VIEW_BLOCKS, "view.blocks")
    if surface == "modal":
        if "title" not in view:
            problems.append("view.title: required for a modal")
        has_inputs = isinstance(view.get("blocks"), list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in view["blocks"]
        )
        if has_inputs and "submit" not in view:
            problems.append("view.submit: required when the modal has input blocks")
    outer = {k: v for k, v in view.items() if k != "blocks"}
    try:
        # The blocks were checked one by one above; a stand-in keeps View from judging them again.
        produced = View(**copy.deepcopy(outer), blocks=[_STAND_IN_BLOCK]).to_dict()
    except Exception as exc:  # slack_sdk raises assorted errors on malformed input; all mean "invalid"
        return [*problems, f"view: {exc}"]
    produced.update({k: outer[k] for k in _VIEW_KEYS_SET_BY_SLACK & outer.keys()})
    problems += _dropped_fields(outer, produced, "view")
    return problems


def validate_payload(method: str, params: dict[str, Any]) -> list[str]:
    """Problems with the Block Kit parts of a Web API call (or response_url post) of ``method``.

    ``blocks``, ``attachments`` and ``view`` may be JSON strings (form-encoded calls) or already
    decoded (JSON calls). Methods that carry no Block Kit have no problems.
    """
    if method in MESSAGE_METHODS:
        return _validate_message(params)
    if method in MODAL_METHODS | HOME_METHODS:
        if "view" not in params:
            return ["view: required"]
        view, problems = _decoded(params["view"], "view")
        if problems:
            return problems
        return validate_view(view, "home" if method in HOME_METHODS else "modal")
    return []


def _validate_message(params: dict[str, Any]) -> list[str]:
    problems = []
    text = params.get("text")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        problems.append(f"text: {len(text)} characters, more than Slack's {MAX_MESSAGE_TEXT}")
    if params.get("blocks") is not None:
        blocks, decode_problems = _decoded(params["blocks"], "blocks")
        problems += decode_problems or validate_message_blocks(blocks)
    if params.get("attachments") is not None:
        attachments, decode_problems = _decoded(params["attachments"], "attachments")
        if decode_problems:
            problems += decode_problems
        elif not isinstance(attachments, list):
            problems.append("attachments: must be a JSON array")
        else:
            for index, attachment in enumerate(attachments):
                if not isinstance(attachment, dict):
                    problems.append(f"attachments[{index}]: must be a JSON object")
                elif "blocks" in attachment:
                    problems += _validate_blocks(
                        attachment["blocks"], MAX_MESSAGE_BLOCKS, f"attachments[{index}].blocks"
                    )
    return problems


def _decoded(value: Any, name: str) -> tuple[Any, list[str]]:
    if not isinstance(value, str):
        return value, []
    try:
        return json.loads(value), []
    except json.JSONDecodeError as exc:
        return None, [f"{name}: not valid JSON ({exc})"]


def _validate_blocks(blocks: Any, max_blocks: int, path: str) -> list[str]:
    if not isinstance(blocks, list):
        return [f"{path}: must be a JSON array"]
    problems = []
    if len(blocks) > max_blocks:
        problems.append(f"{path}: {len(blocks)} blocks, more than Slack's {max_blocks}")
    seen_block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        block_path = f"{path}[{index}]"
        problems += _validate_block(block, block_path)
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is not None:
            if block_id in seen_block_ids:
                problems.append(f"{block_path}.block_id: {block_id!r} is used by an earlier block")
            seen_block_ids.add(block_id)
    return problems


def _validate_block(block: Any, path: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"{path}: must be a JSON object"]
    if "type" not in block:
        return [f"{path}.type: required"]
    return [path + problem for problem in _block_problems(json.dumps(block, sort_keys=True))]


@functools.lru_cache(maxsize=100_000)
def _block_problems(encoded: str) -> tuple[str, ...]:
    """One block's problems, each after its (left out) path; by its JSON, since the same blocks come
    back in message after message and slack_sdk's round trip is the sandbox's dearest step."""
    block = json.loads(encoded)
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return (f".type: unknown block type {block['type']!r}",)
        produced = parsed.to_dict()
    except Exception as exc:  # slack_sdk raises assorted errors on malformed input; all mean "invalid"
        return (f": {exc}",)
    return tuple(_dropped_fields(json.loads(encoded), produced, ""))


def _dropped_fields(given: Any, produced: Any, path: str) -> list[str]:
    """Fields of ``given`` that did not survive slack_sdk's round trip: Slack would reject them.

    A field disappears when slack_sdk doesn't know it (a typo, or a field of another element
    type) or when its value is empty; a string where the model builds an object (``"text":
    "hi"`` in a section) is also reported, as the API wants the object.
    """
    if isinstance(given, dict) and isinstance(produced, dict):
        problems = []
        for key, value in given.items():
            if value is None:
                continue
            if key not in produced:
                problems.append(f"{path}.{key}: not accepted here (unknown field or empty value)")
            else:
                problems += _dropped_fields(value, produced[key], f"{path}.{key}")
        return problems
    if isinstance(given, list) and isinstance(produced, list):
        if len(given) != len(produced):
            return [f"{path}: {len(given) - len(produced)} item(s) of an unknown type"]
        problems = []
        for index, (given_item, produced_item) in enumerate(zip(given, produced, strict=True)):
            problems += _dropped_fields(given_item, produced_item, f"{path}[{index}]")
        return problems
    if isinstance(given, dict):
        return [f"{path}: not accepted here (unknown type {given.get('type')!r})"]
    if isinstance(given, str) and isinstance(produced, dict):
        return [f"{path}: must be an object, not a string"]
    return []
