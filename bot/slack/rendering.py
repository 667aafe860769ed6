"""Turning the Jinja2 templates in `message_templates/` into Block Kit payloads.

Each template renders JSON (a message `{text, blocks}`, a view, or a small mapping of
texts). Strings go through the gettext catalogs: English is the source language, Persian
comes from `message_templates/locales/fa.po`, read at start-up (no compile step).
"""

from __future__ import annotations

import gettext
import json
from functools import cache, lru_cache
from importlib import resources
from io import BytesIO
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.domain.vocabulary import SUPPORTED_LANGUAGES
from bot.domain.workspace_setup import MAX_ANONYMITY_THRESHOLD, MIN_ANONYMITY_THRESHOLD
from bot.slack import formatting
from bot.slack.text import escape, truncate


def load_translations(language: str) -> gettext.NullTranslations:
    """The catalog for a language; English is the msgid itself."""
    if language == "en":
        return gettext.NullTranslations()
    po_file = resources.files("message_templates").joinpath("locales", f"{language}.po")
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _environment(language: str) -> Environment:
    environment = Environment(
        loader=PackageLoader("message_templates", ""),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    environment.install_gettext_translations(load_translations(language), newstyle=True)
    environment.filters["mrkdwn"] = escape
    environment.filters["truncate_to"] = truncate
    # Every number and date a reader sees goes through these, in the reader's digits and calendar.
    environment.filters["number"] = lambda value, places=0: formatting.number(value, language, places)
    environment.filters["signed"] = lambda value, places=0: formatting.signed(value, language, places)
    environment.filters["percent"] = lambda share: formatting.percent(share, language)
    environment.filters["date"] = lambda day: formatting.calendar_date(day, language)
    environment.filters["clock"] = lambda moment: formatting.clock(moment, language)
    environment.filters["moment"] = lambda instant: formatting.moment(instant, language)
    # Labels that are not quantities ("2026-Q1", "2026-W22"): only their digits change.
    environment.filters["label"] = lambda text: formatting.persian_digits(text) if language == "fa" else text
    environment.globals["language"] = language
    environment.globals["rtl"] = language == "fa"
    environment.globals["limits"] = {
        "min_threshold": MIN_ANONYMITY_THRESHOLD,
        "max_threshold": MAX_ANONYMITY_THRESHOLD,
    }
    return environment


#: Renders `Renderer.render_kept` keeps (as JSON text): a pulse message for each look and set of answers
#: shown lately, a few KiB each.
RENDERS_KEPT = 1024


class Renderer:
    """One Jinja environment per language, so rendering never switches catalogs under a thread."""

    def __init__(self) -> None:
        self._environments = {language: _environment(language) for language in SUPPORTED_LANGUAGES}
        self._kept = lru_cache(maxsize=RENDERS_KEPT)(self._source)

    def render(self, template: str, language: str, /, **context: Any) -> Any:
        return self._decoded(template, language, self._source(template, language, tuple(context.items())))

    def render_kept(self, template: str, language: str, /, **context: Any) -> Any:
        """`render`, for a context of values only (frozen dataclasses, numbers, text), which always
        render the same: the JSON text is kept and only decoded again, a fresh payload each call. (A
        rating tap re-draws the person's message; Jinja was a sixth of the tap's CPU.)"""
        items = tuple(sorted(context.items()))
        return self._decoded(template, language, self._kept(template, language, items))

    def _source(self, template: str, language: str, context: tuple[tuple[str, Any], ...]) -> str:
        environment = self._environments.get(language) or self._environments["en"]
        return environment.get_template(f"{template}.json.j2").render(dict(context))

    @staticmethod
    def _decoded(template: str, language: str, source: str) -> Any:
        try:
            return json.loads(source)
        except json.JSONDecodeError as error:
            raise ValueError(f"template {template} ({language}) rendered invalid JSON: {error}") from None

    def template_names(self) -> list[str]:
        return sorted(
            name.removesuffix(".json.j2")
            for name in self._environments["en"].list_templates()
            if name.endswith(".json.j2")
        )


@cache
def default_renderer() -> Renderer:
    return Renderer()
