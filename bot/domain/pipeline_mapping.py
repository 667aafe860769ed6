"""The mapping step: which of a file's columns holds each field, for a file whose headers are not the
usual ones of a Salesforce report or a HubSpot export (`pipeline_csv.COLUMNS`).

The admin's choice is remembered per workspace under a fingerprint of the file's header row, so the
next export with the same columns imports directly. A header close to one the bot knows (`Created On`
for `Created Date`) is preselected; the admin confirms or changes it, nothing is guessed silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from difflib import SequenceMatcher
from os.path import commonprefix

from bot.domain.pipeline import Kind
from bot.domain.pipeline_csv import COLUMNS, MAX_OPTIONS, REQUIRED, MappingStep, normalise_header

CLOSE = 0.75
"""How alike (0–1) a header and a known one must be for the header to be preselected."""


def fingerprint(headers: Sequence[str]) -> str:
    """The same for two header rows with the same columns, whatever their order, case or punctuation
    (a remembered mapping names its columns, so their order does not matter)."""
    names = sorted({name for name in map(normalise_header, headers) if name})
    return hashlib.sha256("\x1f".join(names).encode()).hexdigest()[:32]


def fields_of(kind: Kind) -> tuple[str, ...]:
    """The fields a file of `kind` can hold, those it must hold first."""
    required = REQUIRED[kind]
    return (*required, *(name for name in COLUMNS[kind] if name not in required))


_FILLER = frozenset({"on", "of", "the", "at", "in", "by", "date", "name", "value", "number", "no", "nr"})
"""Words that say little about which field a column holds (`Created On`, `Quarter Name`)."""
SAME_SPELLING = 0.9
"""How alike two whole headers must be spelt to be taken for the same (a typo: `Recrd ID`)."""


def _content(header: str) -> list[str]:
    return [word for word in header.split() if word not in _FILLER]


def _same_word(one: str, other: str) -> bool:
    """The same word, or one inflected (`closing`, `close`; `created`, `create`): a shared start of at
    least four letters, each word going on for at most three more. `unqualified` is not `qualified`,
    nor `dealstage` `deal`."""
    if one == other:
        return True
    shared = len(commonprefix((one, other)))
    return shared >= 4 and max(len(one), len(other)) - shared <= 3


def likeness(header: str, kind: Kind, name: str) -> float:
    """How alike (0–1) `header` is to the headers known for the field: the share of meaningful words
    the two have in common (Dice's coefficient), or 1 for a header spelt nearly like a known one."""
    written = normalise_header(header)
    words = _content(written)
    best = 0.0
    for known in (*COLUMNS[kind][name].headers, name.replace("_", " ")):
        if SequenceMatcher(None, written, known).ratio() >= SAME_SPELLING:
            return 1.0
        known_words = _content(known)
        if words and known_words:
            shared = sum(any(_same_word(word, other) for other in known_words) for word in words)
            best = max(best, 2 * min(shared, len(known_words)) / (len(words) + len(known_words)))
    return best


def preselect(headers: Sequence[str], kind: Kind) -> dict[str, int]:
    """Field → the index of the header closest to it, for headers at least `CLOSE` alike; the most
    alike pairs first, each field and each column chosen once."""
    pairs = sorted(
        (
            (-likeness(header, kind, name), position, index, name)
            for position, name in enumerate(fields_of(kind))
            for index, header in enumerate(headers[:MAX_OPTIONS])
        ),
    )
    chosen: dict[str, int] = {}
    taken: set[int] = set()
    for negative_score, _position, index, name in pairs:
        if -negative_score < CLOSE:
            break
        if name not in chosen and index not in taken:
            chosen[name] = index
            taken.add(index)
    return chosen


def guess_kind(headers: Sequence[str]) -> Kind:
    """The kind whose required fields the headers come closest to (forecast, deals, leads on a tie)."""
    kinds = (Kind.FORECAST, Kind.DEALS, Kind.LEADS)

    def fit(kind: Kind) -> tuple[int, int]:
        found = preselect(headers, kind)
        return sum(name in found for name in REQUIRED[kind]), len(found)

    return max(kinds, key=fit)


def mapping_step(headers: Sequence[str], kind: Kind | None) -> MappingStep:
    """The step for a file with `headers`: of the kind the admin said, or the likeliest one."""
    chosen = kind or guess_kind(headers)
    return MappingStep(
        chosen, tuple(headers), fields_of(chosen), REQUIRED[chosen], preselect(headers, chosen)
    )
