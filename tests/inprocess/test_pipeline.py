"""The pipeline's listeners in process: `/align pipeline …`, the import and HubSpot modals, and a CSV
shared in the bot's DM; each with its happy path and its refusal or bad-input path."""

from __future__ import annotations

from bot.sandbox.workspace import OWNER, SALESPEOPLE
from tests.conversation import row_counts, set_up_workspace, text_of

CSV = b"Lead ID,Created Date\nL1,2026-03-02\nL2,2026-03-03\n"


def test_the_command_opens_the_import_form_or_explains_itself(bot, driver, person):
    set_up_workspace(bot, driver)
    admin = person(OWNER)
    assert admin.opens("/align pipeline import")["callback_id"] == "pipeline_import"
    assert admin.opens("/align pipeline connect hubspot")["callback_id"] == "pipeline_hubspot"
    (usage,) = admin.types("/align pipeline export")
    assert "/align pipeline import" in text_of(usage)
    (refused,) = person(SALESPEOPLE[0]).types("/align pipeline import")
    assert "admins" in text_of(refused)


def test_the_import_form_imports_the_file_and_a_member_cannot_submit_it(bot, driver, sandbox, person):
    set_up_workspace(bot, driver)
    admin = person(OWNER)
    form = admin.opens("/align pipeline import")
    file = sandbox.share_file(OWNER, "leads.csv", CSV)
    assert admin.submits("pipeline_import", {"file": [file], "date_order": "dmy"}) is None
    assert sandbox.ephemerals_to(OWNER)[-1].text == "Imported 2 leads: 2 new, 0 updated, 0 unchanged."
    member = person(SALESPEOPLE[0])
    member.submits("pipeline_import", {"file": [file]}, view=form)
    assert row_counts(bot)["pipeline_leads"] == 2 and sandbox.ephemerals_to(SALESPEOPLE[0]) == []


def test_a_csv_in_the_dm_is_imported_and_other_files_are_left_alone(bot, driver, sandbox):
    set_up_workspace(bot, driver)
    dm = sandbox.dm_channel_for(OWNER)
    for name, content in (("photo.png", b"\x89PNG"), ("leads.csv", CSV)):
        file = sandbox.share_file(OWNER, name, content, channel_id=dm)
        driver.event({"type": "file_shared", "file_id": file["id"], "user_id": OWNER, "channel_id": dm})
        assert bot.wait_idle()
    assert [e.text for e in sandbox.ephemerals_to(OWNER)] == [
        "Imported 2 leads: 2 new, 0 updated, 0 unchanged."
    ]
