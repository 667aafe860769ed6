"""The Home tab and its setup button in process: published on `app_home_opened` (not for the
Messages tab), and the button opening the setup modal for admins only."""

from __future__ import annotations

from bot.sandbox.workspace import OWNER, SALESPEOPLE
from tests.conversation import text_of

MEMBER = SALESPEOPLE[0]


def test_opening_the_home_tab_publishes_it(sandbox, person):
    home = person(MEMBER).opens_home()
    assert "confidential" in text_of(home)
    assert "Set up alignbot" not in text_of(home)
    assert len(sandbox.calls_to("views.publish")) == 1


def test_the_messages_tab_publishes_nothing(bot, driver, sandbox):
    assert driver.event({"type": "app_home_opened", "user": MEMBER, "tab": "messages"}).status == 200
    assert bot.wait_idle()
    assert sandbox.calls_to("views.publish") == []


def test_an_admin_opens_the_setup_modal_from_the_home_tab(sandbox, person):
    owner = person(OWNER)
    home = owner.opens_home()
    assert owner.taps("open_setup", block_id="home_admin", view=home) == []
    assert sandbox.latest_view_for(OWNER).view["callback_id"] == "setup"


def test_a_member_pressing_the_setup_button_is_refused(sandbox, person):
    member = person(MEMBER)
    member.taps("open_setup", block_id="home_admin", view={"id": "V0", "type": "home"})
    assert sandbox.calls_to("views.open") == []
    assert "Nothing was changed" in text_of({"blocks": member.dms()[0].blocks})
