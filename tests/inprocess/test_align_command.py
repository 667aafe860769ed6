"""`/align` in process: help, the per-person subcommands, a typo, and admin-only subcommands refused."""

from __future__ import annotations

from sqlalchemy import select

from bot.sandbox.workspace import OWNER, SALES_AND_MARKETING, SALESPEOPLE
from storage.models import PersonPreference
from tests.conversation import row_counts, set_up_workspace, text_of

MEMBER = SALESPEOPLE[0]


def test_align_alone_is_help_fitting_who_asks(person):
    (member_help,) = person(MEMBER).types("/align")
    assert member_help["response_type"] == "ephemeral"
    assert "what you can do" in text_of(member_help)
    assert "/align setup" not in text_of(member_help)
    (admin_help,) = person(OWNER).types("/align help")
    assert "/align setup" in text_of(admin_help)


def test_status_before_the_setup_says_it_is_not_set_up(person):
    (reply,) = person(MEMBER).types("/align status")
    assert "alignbot status" in text_of(reply)


def test_a_typo_gets_a_did_you_mean_and_changes_nothing(bot, person):
    before = row_counts(bot)
    (reply,) = person(MEMBER).types("/align stauts")
    assert "Did you mean `/align status`?" in text_of(reply)
    assert row_counts(bot) == {
        **before,
        "handled_requests": before["handled_requests"] + 1,
    }  # its trigger id, kept against replays


def test_a_person_chooses_their_language_and_a_bad_choice_is_explained(bot, person):
    (usage,) = person(MEMBER).types("/align language klingon")
    assert "klingon" in text_of(usage)
    assert row_counts(bot)["person_preferences"] == 0
    person(MEMBER).types("/align language fa")
    with bot.database.session() as session:
        assert session.scalars(select(PersonPreference.language)).one() == "fa"


def test_someone_in_both_teams_chooses_their_department(bot, driver, person):
    set_up_workspace(bot, driver)  # the channels say who is in both teams
    (usage,) = person(SALES_AND_MARKETING).types("/align department finance")
    assert "Nothing was changed" in text_of(usage)
    assert row_counts(bot)["person_preferences"] == 0
    (done,) = person(SALES_AND_MARKETING).types("/align department marketing")
    assert "you answer pulses for *Marketing*" in text_of(done)
    with bot.database.session() as session:
        assert session.scalars(select(PersonPreference.department)).one() == "marketing"


def test_admin_only_subcommands_are_refused_to_members(bot, sandbox, person):
    for line in ("/align setup", "/align pulse list", "/align digest", "/align export", "/align meeting"):
        (reply,) = person(MEMBER).types(line)
        assert "Only Slack workspace admins" in text_of(reply), line
    assert sandbox.calls_to("views.open") == []
    assert row_counts(bot)["workspaces"] == 0
