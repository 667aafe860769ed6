"""The door's form decoding (`bot.runtime.edge._form_fields`) reads forms as the standard library does,
and refuses what it would only guess at."""

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.runtime.edge import Refused, _form_fields


@given(st.dictionaries(st.text(min_size=1), st.text()))
def test_a_form_reads_as_the_standard_library_reads_it(fields):
    body = urlencode(fields)
    assert _form_fields(body) == dict(parse_qsl(body, keep_blank_values=True, strict_parsing=True))


def test_backslashes_plus_signs_and_text_left_unescaped_stay_what_they_are():
    assert _form_fields("a=%5Cx41+\\x41&b=é%C3%A9+&c=") == {"a": "\\x41 \\x41", "b": "éé ", "c": ""}


@pytest.mark.parametrize("body", ["a=%zz", "a=%4", "a=b%", "a=%E9", "a=1&&b=2", "a", "payload"])
def test_a_broken_escape_text_that_is_not_utf_8_or_a_field_without_a_value_is_refused(body):
    with pytest.raises(Refused) as refusal:
        _form_fields(body)
    assert refusal.value.status == 400
