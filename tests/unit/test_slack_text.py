from hypothesis import given
from hypothesis import strategies as st

from bot.slack.text import escape


def test_mentions_cannot_be_injected():
    assert escape("<!channel> & <@U123>") == "&lt;!channel&gt; &amp; &lt;@U123&gt;"


@given(st.text())
def test_escaped_text_has_no_control_characters(text):
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0
