"""Admins' pulse listeners in process: the cadence modal (adding, editing, field errors, a
non-admin's submission), the custom statement modal, and the delete confirmation."""

from __future__ import annotations

from sqlalchemy import select

from bot.sandbox.workspace import OWNER, SALESPEOPLE
from storage.models import Cadence, CustomItem
from tests.conversation import PULSE_INPUTS, create_pulse, row_counts, set_up_workspace, text_of

MEMBER = SALESPEOPLE[0]


def test_a_pulse_added_through_the_modal_is_stored_and_confirmed(bot, driver, person):
    set_up_workspace(bot, driver)
    owner = person(OWNER)
    owner.opens("/align pulse add")
    assert owner.submits("pulse_add", PULSE_INPUTS) is None
    with bot.database.session() as session:
        assert session.scalars(select(Cadence.name)).one() == "Weekly"
    assert "The pulse *Weekly* is scheduled" in text_of({"blocks": owner.dms()[-1].blocks})


def test_bad_cadence_input_gets_field_errors_and_a_members_submission_is_refused(bot, driver, person):
    set_up_workspace(bot, driver)
    owner = person(OWNER)
    modal = owner.opens("/align pulse add")
    answer = owner.submits("pulse_add", {**PULSE_INPUTS, "name": "", "timezone": "Mars/Olympus"})
    assert set(answer["errors"]) == {"name", "timezone"}
    member = person(MEMBER)
    assert member.submits("pulse_add", PULSE_INPUTS, view=modal) is None
    assert "Nothing was changed" in text_of({"blocks": member.dms()[-1].blocks})
    assert row_counts(bot)["cadences"] == 0


def test_an_edit_through_the_modal_changes_the_pulse(bot, driver, person):
    create_pulse(bot, driver)
    owner = person(OWNER)
    owner.opens("/align pulse edit Weekly")
    assert owner.submits("pulse_edit", {"name": "Thursday pulse", "weekdays": ["3"]}) is None
    with bot.database.session() as session:
        cadence = session.scalars(select(Cadence)).one()
    assert (cadence.name, cadence.weekdays) == ("Thursday pulse", [3])
    assert "*Thursday pulse* is updated" in text_of({"blocks": owner.dms()[-1].blocks})


def test_a_custom_statement_is_added_through_its_modal_and_an_empty_one_refused(bot, driver, person):
    set_up_workspace(bot, driver)
    owner = person(OWNER)
    owner.opens("/align questions add")
    answer = owner.submits("question_add", {"dimension": "joint_planning"})
    assert set(answer["errors"]) == {"text_en"}
    assert (
        owner.submits("question_add", {"dimension": "joint_planning", "text_en": "We  plan together"}) is None
    )
    with bot.database.session() as session:
        item = session.scalars(select(CustomItem)).one()
    assert (item.dimension, item.text_en, item.text_fa) == ("joint_planning", "We plan together", None)
    assert "joins the rotation" in text_of({"blocks": owner.dms()[-1].blocks})


def test_delete_is_confirmed_by_an_admin_and_refused_to_a_member(bot, driver, person):
    create_pulse(bot, driver)
    (question,) = person(OWNER).types("/align pulse delete Weekly")
    (refused,) = person(MEMBER).taps("pulse_delete_confirm", on=question)
    assert "Nothing was changed" in text_of(refused)
    assert row_counts(bot)["cadences"] == 1
    (deleted,) = person(OWNER).taps("pulse_delete_confirm", on=question)
    assert deleted["replace_original"] is True
    assert "The pulse *Weekly* is deleted" in text_of(deleted)
    assert row_counts(bot)["cadences"] == 0


def test_keeping_the_pulse_deletes_nothing(bot, driver, person):
    create_pulse(bot, driver)
    owner = person(OWNER)
    (question,) = owner.types("/align pulse delete Weekly")
    (kept,) = owner.taps("pulse_delete_cancel", on=question)
    assert "Nothing was deleted" in text_of(kept)
    assert row_counts(bot)["cadences"] == 1
