"""`/align` help, status, language, and typos."""

from __future__ import annotations

from bot.sandbox.workspace import HEAD_OF_MARKETING, OWNER, SALESPEOPLE
from storage.models import PersonPreference
from tests.conversation import command, row_counts, text_of

PERSIAN_SPEAKER = SALESPEOPLE[1]  # Reza, Slack locale fa-IR
MEMBER = SALESPEOPLE[0]


def test_slash_command_is_acknowledged_at_once_with_an_empty_body(bot, driver):
    response = driver.slash_command(MEMBER, "help")
    assert response.status == 200
    assert response.body == ""
    assert bot.wait_idle()


def test_help_lists_only_what_the_caller_may_use(bot, driver):
    member_help = text_of(command(bot, driver, MEMBER, "help")[0])
    admin_help = text_of(command(bot, driver, OWNER, "")[0])
    assert "/align status" in member_help
    assert "/align setup" not in member_help
    assert "/align setup" in admin_help


def test_help_is_ephemeral(bot, driver):
    reply = command(bot, driver, MEMBER, "help")[0]
    assert reply["response_type"] == "ephemeral"


def test_an_unknown_subcommand_gets_usage_and_a_suggestion(bot, driver):
    text = text_of(command(bot, driver, MEMBER, "staus")[0])
    assert "I don't know `/align staus`" in text
    assert "Did you mean `/align status`?" in text
    assert "/align help" in text


def test_mentions_typed_into_a_command_are_not_echoed_live(bot, driver):
    text = text_of(command(bot, driver, MEMBER, "<!channel> hello")[0])
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text


def test_status_before_setup_says_how_to_set_up(bot, driver):
    text = text_of(command(bot, driver, MEMBER, "status")[0])
    assert "isn't set up yet" in text
    assert "/align setup" in text


def test_a_persian_locale_gets_persian(bot, driver):
    text = text_of(command(bot, driver, PERSIAN_SPEAKER, "help")[0])
    assert "کارهایی که می‌توانید انجام دهید" in text


def test_language_can_be_overridden_and_is_remembered(bot, driver):
    assert "از این به بعد به فارسی" in text_of(command(bot, driver, MEMBER, "language fa")[0])
    assert "فروش و بازاریابی" in text_of(command(bot, driver, MEMBER, "help")[0])
    assert "English" in text_of(command(bot, driver, MEMBER, "language EN")[0])
    assert "what you can do" in text_of(command(bot, driver, MEMBER, "help")[0]).lower()
    with bot.database.session() as session:
        assert session.get(PersonPreference, ("T0ACME001", MEMBER)).language == "en"


def test_a_bad_language_changes_nothing(bot, driver):
    for text in ("language klingon", "language", "language fa en"):
        reply = text_of(command(bot, driver, HEAD_OF_MARKETING, text)[0])
        assert "Nothing was changed" in reply or "چیزی تغییر نکرد" in reply
    assert row_counts(bot)["person_preferences"] == 0
