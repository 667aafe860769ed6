from hypothesis import given
from hypothesis import strategies as st

from bot.domain.workspace_setup import SetupForm, validate

VALID = SetupForm(
    sales_channels=("C1",),
    marketing_channels=("C2",),
    leadership_channel="C3",
    timezone="Asia/Tehran",
    default_language="fa",
    anonymity_threshold="5",
    admins=("U1",),
)


def with_(**changes) -> SetupForm:
    return SetupForm(**{**VALID.__dict__, **changes})


def test_a_complete_form_is_accepted():
    config, errors = validate(VALID)
    assert errors == {}
    assert config.timezone == "Asia/Tehran"
    assert config.anonymity_threshold == 5
    assert config.leadership_channel == "C3"


def test_both_departments_need_a_channel():
    _, errors = validate(with_(sales_channels=(), marketing_channels=()))
    assert errors == {"sales_channels": "channels_required", "marketing_channels": "channels_required"}


def test_a_channel_cannot_be_in_both_departments():
    _, errors = validate(with_(sales_channels=("C1", "C2"), marketing_channels=("C2",)))
    assert errors == {"marketing_channels": "channel_in_both"}


def test_leadership_channel_must_differ_from_department_channels():
    _, errors = validate(with_(leadership_channel="C1"))
    assert errors == {"leadership_channel": "leadership_is_department"}


def test_leadership_channel_is_optional():
    config, errors = validate(with_(leadership_channel=None))
    assert errors == {}
    assert config.leadership_channel is None


def test_unknown_timezones_are_refused():
    for bad in ("Mars/Olympus", "", "../etc/passwd", "Europe/", "Asia/Tehran\x00"):
        _, errors = validate(with_(timezone=bad))
        assert errors == {"timezone": "invalid_timezone"}, bad


def test_daylight_saving_zones_are_accepted():
    for good in ("America/New_York", "Europe/Berlin", "UTC", "Asia/Tehran"):
        assert validate(with_(timezone=good))[1] == {}


@given(st.integers(min_value=-1000, max_value=1000))
def test_threshold_is_accepted_exactly_from_3_to_10(value):
    _, errors = validate(with_(anonymity_threshold=str(value)))
    assert (errors == {}) == (3 <= value <= 10)


def test_threshold_must_be_a_whole_number():
    for bad in ("", "5.5", "five", "٥", "1e1", " "):
        _, errors = validate(with_(anonymity_threshold=bad))
        assert errors == {"anonymity_threshold": "threshold_out_of_range"}, bad


def test_language_must_be_supported():
    _, errors = validate(with_(default_language="de"))
    assert errors == {"default_language": "invalid_language"}


def test_too_many_channels_or_admins_are_refused():
    many = tuple(f"S{i}" for i in range(11))
    _, errors = validate(with_(sales_channels=many, admins=tuple(f"U{i}" for i in range(21))))
    assert errors == {"sales_channels": "too_many_channels", "admins": "too_many_admins"}


def test_duplicates_are_folded_keeping_order():
    config, _ = validate(with_(sales_channels=("C1", "C9", "C1"), admins=("U2", "U1", "U2")))
    assert config.sales_channels == ("C1", "C9")
    assert config.admins == ("U2", "U1")
