"""Block Kit validation rejects what Slack rejects and passes what the bot really sends."""

import json

import pytest

from bot.sandbox.blockkit import validate_message_blocks, validate_payload, validate_view

RICH_MESSAGE = [
    {"type": "header", "text": {"type": "plain_text", "text": "Weekly pulse", "emoji": True}},
    {
        "type": "section",
        "block_id": "intro",
        "text": {"type": "mrkdwn", "text": "*Hi* <@U0SALES01>"},
        "accessory": {
            "type": "button",
            "action_id": "answer",
            "text": {"type": "plain_text", "text": "Answer"},
            "value": "pulse-1",
            "style": "primary",
        },
    },
    {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": "*Leads*"}, {"type": "plain_text", "text": "12"}],
    },
    {"type": "divider"},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Sent by AlignBot"}]},
    {
        "type": "actions",
        "elements": [
            {
                "type": "static_select",
                "action_id": "pick",
                "placeholder": {"type": "plain_text", "text": "Pick"},
                "options": [{"text": {"type": "plain_text", "text": "One"}, "value": "1"}],
            },
            {"type": "datepicker", "action_id": "when", "initial_date": "2024-11-22"},
        ],
    },
    {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "hello"}]}],
    },
]
MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Pulse"},
    "submit": {"type": "plain_text", "text": "Send"},
    "private_metadata": "{}",
    "blocks": [
        {
            "type": "input",
            "block_id": "who",
            "label": {"type": "plain_text", "text": "Who"},
            "element": {"type": "multi_users_select", "action_id": "users"},
        }
    ],
}


def test_realistic_payloads_are_valid():
    assert validate_message_blocks(RICH_MESSAGE) == []
    assert validate_view(MODAL, "modal") == []
    assert validate_view({"type": "home", "blocks": RICH_MESSAGE}, "home") == []


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "3000 characters"),
        ([{"type": "nope"}], "unknown block type 'nope'"),
        ([{"text": "no type"}], "type: required"),
        ([{"type": "divider"}] * 51, "51 blocks"),
        ([{"type": "actions", "elements": [{"type": "buton"}]}], "unknown type 'buton'"),
        ([{"type": "image", "image_url": "https://x/y.png"}], "alt_text"),
        (
            [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}],
            "used by an earlier block",
        ),
        ("not a list", "must be a JSON array"),
    ],
)
def test_invalid_message_blocks(blocks, expected):
    problems = validate_message_blocks(blocks)
    assert any(expected in p for p in problems), problems


def test_view_rules():
    assert validate_view({**MODAL, "type": "home"}, "modal")[0].startswith("view.type")
    without_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    assert any("submit" in p for p in validate_view(without_submit, "modal"))
    assert any(
        "title" in p for p in validate_view({"type": "modal", "blocks": [{"type": "divider"}]}, "modal")
    )
    assert any("unknown" in p for p in validate_view({**MODAL, "colour": "red"}, "modal"))
    assert any(
        "100" in p for p in validate_view({"type": "home", "blocks": [{"type": "divider"}] * 101}, "home")
    )
    assert validate_view({**MODAL, "id": "V1", "hash": "1.a", "app_installed_team_id": "T1"}, "modal") == []


def test_validate_payload_decodes_form_encoded_json():
    assert validate_payload("chat.postMessage", {"text": "x", "blocks": json.dumps(RICH_MESSAGE)}) == []
    assert validate_payload("chat.postMessage", {"blocks": "[{"})[0].startswith("blocks: not valid JSON")
    assert validate_payload("views.open", {"trigger_id": "t", "view": json.dumps(MODAL)}) == []
    assert validate_payload("views.publish", {"view": MODAL})[0].startswith("view.type")
    assert validate_payload("chat.postMessage", {"text": "x" * 40_001})
    attachment_blocks = [{"color": "#36a64f", "blocks": [{"type": "nope"}]}]
    assert validate_payload("response_url", {"attachments": attachment_blocks})
    assert validate_payload("users.info", {"user": "U1"}) == []
