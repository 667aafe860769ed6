"""The statements a pulse asks people to rate, kept in `question_bank.toml`.

The statements live in a data file so they can be reviewed, reworded and translated without touching
code; `check_bank` keeps that file honest, and `load_bank` refuses a bank that fails it.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from bot.domain.vocabulary import SUPPORTED_LANGUAGES

MAX_TEXT_LENGTH = 150
HBR_THEMES = range(1, 21)


@dataclass(frozen=True)
class Dimension:
    """An area of the relationship; items are grouped and reported under one."""

    id: str
    names: Mapping[str, str]


@dataclass(frozen=True)
class Item:
    """One statement rated 1–5; answers stay comparable across revisions of the same id."""

    id: str
    dimension: str
    texts: Mapping[str, str]
    scored: bool
    hbr_theme: int | None
    revision: int
    anchor: bool = False
    custom: bool = False
    meeting_check: bool = False
    """Asked by DM after each joint meeting instead of in pulses."""

    def text(self, language: str) -> str:
        """An admin's statement may exist in one language only; showing it beats showing nothing."""
        return self.texts.get(language) or self.texts.get("en") or next(iter(self.texts.values()), "")


@dataclass(frozen=True)
class QuestionBank:
    dimensions: tuple[Dimension, ...]
    items: tuple[Item, ...]

    def item(self, id: str) -> Item:
        return self._items_by_id[id]

    def has_item(self, id: str) -> bool:
        """Past rounds may name items since removed from the bank."""
        return id in self._items_by_id

    @cached_property
    def _items_by_id(self) -> dict[str, Item]:
        """Every tap draws its message from the bank: looked up, not searched (the first of an id wins)."""
        return {item.id: item for item in reversed(self.items)}

    def dimension(self, id: str) -> Dimension:
        for dimension in self.dimensions:
            if dimension.id == id:
                return dimension
        raise KeyError(id)

    def default_anchor(self) -> Item | None:
        return next((item for item in self.items if item.anchor), None)

    def meeting_check(self) -> Item | None:
        """The "was the joint meeting useful?" statement."""
        return next((item for item in self.items if item.meeting_check), None)

    @property
    def pulse_items(self) -> tuple[Item, ...]:
        """The statements pulses rotate through, list and switch on or off: all but the meeting check."""
        return tuple(item for item in self.items if not item.meeting_check)

    def with_custom(self, custom: Iterable[Item]) -> QuestionBank:
        """A workspace's own statements, marked custom so reports can tell them from the packaged ones."""
        return replace(self, items=self.items + tuple(replace(item, custom=True) for item in custom))


def load_bank(path: str | Path | None = None) -> QuestionBank:
    """The packaged bank unless a path is given; a bank with problems is refused rather than half-used."""
    source = Path(path) if path is not None else resources.files("bot.domain") / "question_bank.toml"
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    try:
        bank = QuestionBank(
            dimensions=tuple(
                Dimension(id=entry["id"], names=_texts(entry)) for entry in data.get("dimensions", [])
            ),
            items=tuple(_item(entry) for entry in data.get("items", [])),
        )
    except KeyError as missing:
        raise ValueError(f"{source}: an entry has no {missing}") from None
    problems = check_bank(bank)
    if problems:
        raise ValueError(f"{source}: " + "; ".join(problems))
    return bank


def check_bank(bank: QuestionBank) -> list[str]:
    """Everything wrong with a bank, so that a bad edit of the data file fails in tests, not in a pulse.

    The 20 scored items must cover the HBR themes exactly once each, or the 20–100 stage score
    would no longer be comparable with the article's bands.
    """
    problems = [
        f"duplicate {kind} id {id!r}"
        for kind, entries in (("dimension", bank.dimensions), ("item", bank.items))
        for id, count in Counter(entry.id for entry in entries).items()
        if count > 1
    ]
    for dimension in bank.dimensions:
        problems += _text_problems(f"dimension {dimension.id!r}", dimension.names, every_language=True)
    dimension_ids = {dimension.id for dimension in bank.dimensions}
    for item in bank.items:
        where = f"item {item.id!r}"
        if item.dimension not in dimension_ids:
            problems.append(f"{where} has unknown dimension {item.dimension!r}")
        problems += _text_problems(where, item.texts, every_language=not item.custom)
        if item.scored and item.hbr_theme is None:
            problems.append(f"{where} is scored but has no hbr_theme")
        if item.hbr_theme is not None and item.hbr_theme not in HBR_THEMES:
            problems.append(f"{where} has hbr_theme {item.hbr_theme}, outside 1–20")
        if item.revision < 1:
            problems.append(f"{where} has revision {item.revision}; revisions start at 1")
    themes = Counter(item.hbr_theme for item in bank.items if item.scored)
    problems += [
        f"HBR theme {theme} is covered by {themes[theme]} scored items instead of 1"
        for theme in HBR_THEMES
        if themes[theme] != 1
    ]
    anchors = [item.id for item in bank.items if item.anchor]
    if len(anchors) > 1:
        problems.append(f"more than one anchor: {', '.join(anchors)}")
    checks = [item for item in bank.items if item.meeting_check]
    if len(checks) > 1:
        problems.append(f"more than one meeting check: {', '.join(item.id for item in checks)}")
    problems += [
        f"the meeting check {item.id!r} is asked outside pulses, so it cannot be scored or the anchor"
        for item in checks
        if item.scored or item.anchor
    ]
    return problems


def _item(entry: Mapping[str, Any]) -> Item:
    return Item(
        id=entry["id"],
        dimension=entry["dimension"],
        texts=_texts(entry),
        scored=entry["scored"],
        hbr_theme=entry.get("hbr_theme"),
        revision=entry["revision"],
        anchor=entry.get("anchor", False),
        meeting_check=entry.get("meeting_check", False),
    )


def _texts(entry: Mapping[str, Any]) -> dict[str, str]:
    return {language: entry[language] for language in SUPPORTED_LANGUAGES if language in entry}


def _text_problems(where: str, texts: Mapping[str, str], every_language: bool) -> list[str]:
    """Packaged texts need every language; an admin's statement needs at least one."""
    missing = [language for language in SUPPORTED_LANGUAGES if not texts.get(language)]
    problems = []
    if missing and (every_language or not any(texts.values())):
        problems.append(f"{where} has no {'/'.join(missing)} text")
    problems += [
        f"{where} {language} text is longer than {MAX_TEXT_LENGTH} characters"
        for language, text in texts.items()
        if len(text) > MAX_TEXT_LENGTH
    ]
    return problems
