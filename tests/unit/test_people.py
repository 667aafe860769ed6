from bot.domain.people import SlackUser, choose_language, may_administer


def person(**flags) -> SlackUser:
    return SlackUser(id=flags.pop("id", "U1"), name="someone", **flags)


def test_slack_admins_and_owners_may_administer():
    assert may_administer(person(is_admin=True), set())
    assert may_administer(person(is_owner=True), set())


def test_configured_admins_may_administer():
    assert may_administer(person(id="U7"), {"U7"})


def test_members_guests_bots_and_former_staff_may_not():
    assert not may_administer(person(), {"U9"})
    assert not may_administer(person(is_guest=True, id="U7"), {"U7"})
    assert not may_administer(person(is_bot=True, is_admin=True), set())
    assert not may_administer(person(deleted=True, is_owner=True), set())


def test_language_prefers_the_persons_choice_then_slack_locale_then_default():
    assert choose_language("en", "fa-IR", "fa") == "en"
    assert choose_language(None, "fa-IR", "en") == "fa"
    assert choose_language(None, "en-GB", "fa") == "en"
    assert choose_language(None, "de-DE", "fa") == "fa"
    assert choose_language(None, None, "xx") == "en"


def test_from_api_reads_slacks_user_shape():
    user = SlackUser.from_api(
        {
            "id": "U1",
            "name": "sara",
            "real_name": "Sara Ahmadi",
            "tz": "Asia/Tehran",
            "locale": "fa-IR",
            "is_restricted": True,
            "profile": {"display_name": ""},
        }
    )
    assert user.name == "Sara Ahmadi"
    assert user.is_guest
    assert user.locale == "fa-IR"
