"""The `setup` modal in process: saved and confirmed, bad input answered with field errors, and a
submission by someone who may not administer refused."""

from __future__ import annotations

from bot.sandbox.workspace import HEAD_OF_SALES, OWNER, SALES_CHANNEL, SALESPEOPLE
from storage.workspaces import load_config
from tests.conversation import VALID_INPUTS, row_counts, text_of


def test_an_admin_saves_the_setup_and_is_told(bot, person):
    owner = person(OWNER)
    owner.opens("/align setup")
    assert owner.submits("setup", VALID_INPUTS) is None
    with bot.database.session() as session:
        config = load_config(session, "T0ACME001")
    assert (config.sales_channels, config.admins) == ((SALES_CHANNEL,), (HEAD_OF_SALES,))
    assert "alignbot is set up" in text_of({"blocks": owner.dms()[-1].blocks})


def test_bad_input_gets_field_errors_and_stores_nothing(bot, person):
    owner = person(OWNER)
    owner.opens("/align setup")
    answer = owner.submits("setup", {**VALID_INPUTS, "timezone": "Mars/Olympus", "sales_channels": []})
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"timezone", "sales_channels"}
    assert row_counts(bot)["workspaces"] == 0
    assert owner.dms() == []


def test_a_member_submitting_an_admins_modal_is_refused(bot, person):
    modal = person(OWNER).opens("/align setup")
    member = person(SALESPEOPLE[1])
    assert member.submits("setup", VALID_INPUTS, view=modal) is None
    assert row_counts(bot)["workspaces"] == 0
    assert "Nothing was changed" in text_of({"blocks": member.dms()[0].blocks})
