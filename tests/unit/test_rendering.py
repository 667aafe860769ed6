"""Every template renders valid Block Kit in both languages, and the Persian catalog is complete."""

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.commands import SUBCOMMANDS
from bot.rendering import Renderer
from bot.sandbox.blockkit import validate_message_blocks, validate_view
from bot.workspace_setup import SetupForm, WorkspaceConfig

CONFIG = WorkspaceConfig(
    sales_channels=("C0SALES01",),
    marketing_channels=("C0MARKET1", "C0MARKET2"),
    leadership_channel="C0LEADER1",
    timezone="Asia/Tehran",
    default_language="fa",
    anonymity_threshold=5,
    admins=("U0ADMIN01",),
)

#: A representative context per template; a new template must add one here.
CONTEXTS = {
    "help": {"subcommands": SUBCOMMANDS, "threshold": 5},
    "unknown_command": {"typed": "stup", "suggestion": "setup", "subcommands": SUBCOMMANDS},
    "refusal": {"admins": ("U0ADMIN01",)},
    "setup_modal": {
        "form": SetupForm(timezone="Europe/Berlin", default_language="en", anonymity_threshold="5"),
        "private_metadata": '{"language": "en"}',
        "min_threshold": 3,
        "max_threshold": 10,
    },
    "setup_field_errors": {
        "errors": {"timezone": "invalid_timezone", "anonymity_threshold": "threshold_out_of_range"},
        "min_threshold": 3,
        "max_threshold": 10,
    },
    "setup_saved": {"config": CONFIG, "configured_by": "U0OWNER01", "channels_without_bot": ["C0MARKET2"]},
    "status": {"config": CONFIG},
    "language_changed": {},
    "language_usage": {"typed": "klingon"},
    "slack_failed": {"error": "expired_trigger_id"},
    "home": {"config": CONFIG, "is_admin": True, "default_threshold": 5},
}
LANGUAGES = ("en", "fa")
renderer = Renderer()


def test_every_template_has_a_context_here():
    assert set(renderer.template_names()) == set(CONTEXTS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_template_renders_valid_block_kit(name, language):
    rendered = renderer.render(name, language, **CONTEXTS[name])
    if name == "setup_field_errors":
        assert set(rendered) == {"timezone", "anonymity_threshold"}
        assert all(isinstance(text, str) and text for text in rendered.values())
        return
    if rendered.get("type") in ("modal", "home"):
        assert validate_view(rendered, rendered["type"]) == []
        View(**rendered).to_dict()
        blocks = rendered["blocks"]
    else:
        assert rendered["text"]
        assert validate_message_blocks(rendered["blocks"]) == []
        blocks = rendered["blocks"]
    for block in blocks:
        assert Block.parse(block) is not None


def test_persian_is_really_persian():
    english = renderer.render("help", "en", **CONTEXTS["help"])
    persian = renderer.render("help", "fa", **CONTEXTS["help"])
    assert english["text"] != persian["text"]
    assert any("\u0600" <= char <= "\u06ff" for char in persian["text"])


def test_persian_numbers_use_persian_digits():
    status = renderer.render("status", "fa", config=CONFIG)
    assert "۵ نفر" in str(status)


def test_language_usage_without_a_typed_language_still_explains():
    text = str(renderer.render("language_usage", "en", typed=""))
    assert "/align language fa" in text


def test_user_text_is_escaped():
    rendered = renderer.render("unknown_command", "en", typed="<!channel>", suggestion=None, subcommands=())
    text = str(rendered)
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text


def test_persian_catalog_translates_every_message():
    msgids = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            "message_templates",
            method_map=[("**.j2", "jinja2")],
            options_map={"**.j2": {"extensions": "jinja2.ext.i18n"}},
        )
    }
    with open("message_templates/locales/fa.po", "rb") as handle:
        catalog = read_po(handle, locale="fa")
    translated = {m.id: m.string for m in catalog if m.id and not m.fuzzy}
    missing = sorted(m for m in msgids if not translated.get(m))
    assert missing == [], "untranslated in fa.po (run `make catalog`):\n" + "\n".join(missing)
    obsolete = sorted(set(translated) - msgids)
    assert obsolete == [], "fa.po has messages no template uses:\n" + "\n".join(obsolete)


def test_placeholders_survive_translation():
    with open("message_templates/locales/fa.po", "rb") as handle:
        catalog = read_po(handle, locale="fa")

    for message in catalog:
        if message.id:
            assert sorted(re.findall(r"%\(\w+\)s", message.id)) == sorted(
                re.findall(r"%\(\w+\)s", message.string)
            ), message.id
