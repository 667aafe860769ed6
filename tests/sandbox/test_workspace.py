"""The seeded Acme workspace contains the awkward cases the bot has to cope with."""

from bot.sandbox import workspace as acme
from bot.sandbox.workspace import default_workspace


def test_acme_has_the_awkward_members():
    ws = default_workspace()
    sales = ws.channel_by_name("#sales").members
    marketing = ws.channel_by_name("marketing").members
    assert ws.team_id == "T0ACME001"
    assert ws.user(acme.OWNER).is_owner and ws.user(acme.OWNER).is_admin
    assert acme.SALES_AND_MARKETING in sales and acme.SALES_AND_MARKETING in marketing
    assert ws.user(acme.GUEST).is_restricted and acme.GUEST in sales
    assert ws.user(acme.DEACTIVATED).deleted and acme.DEACTIVATED in marketing
    assert any(ws.user(m).is_bot for m in sales if m != ws.bot_user_id)
    assert sum(u.locale == "fa-IR" for u in ws.users) >= 3
    assert {u.tz for u in ws.users} >= {
        "America/New_York",
        "Europe/Berlin",
        "Asia/Tehran",
        "America/Los_Angeles",
        "Europe/London",
    }


def test_the_bot_is_in_its_channels_but_not_general():
    ws = default_workspace()
    bot = ws.user(ws.bot_user_id)
    assert (bot.id, bot.bot_id, bot.is_bot, ws.app_id) == ("U0ALIGNBOT", "B0ALIGNBOT", True, "A0ALIGNBOT")
    for channel_id in (acme.SALES_CHANNEL, acme.MARKETING_CHANNEL, acme.LEADERSHIP_CHANNEL):
        assert ws.bot_user_id in ws.channel(channel_id).members
    assert ws.bot_user_id not in ws.channel(acme.GENERAL_CHANNEL).members
    assert ws.channel(acme.LEADERSHIP_CHANNEL).is_private
    assert ws.bot_token == "xoxb-sandbox-token"


def test_lookups_miss_cleanly():
    ws = default_workspace()
    assert ws.user("U0NOBODY0") is None
    assert ws.channel("C0NOWHERE") is None
    assert ws.channel_by_name("nowhere") is None
