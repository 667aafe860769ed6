"""The admin's CSV export: weekly results per group × statement, dimension and overall score.

Withheld figures stay empty (with `withheld` in the last column), exactly as every other
surface shows them, and every cell a spreadsheet could read as a formula is defused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from bot.domain.scoring import Results
from bot.domain.vocabulary import GROUPS

HEADER = ("week", "group", "level", "id", "name", "respondents", "mean", "favourable", "score", "status")
#: A leading character that makes Excel, Sheets or LibreOffice evaluate a cell (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: object) -> str:
    """A cell as text that no spreadsheet will run: a leading formula character is quoted away."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rows(
    weeks: Iterable[tuple[date, Results]], item_names: Mapping[str, str], dimension_names: Mapping[str, str]
) -> list[tuple]:
    out: list[tuple] = []
    for week, results in weeks:
        for group in GROUPS:
            composite = results.composites[group]
            out.append(
                _row(
                    week,
                    group,
                    "overall",
                    "score",
                    "",
                    composite.respondents,
                    None,
                    None,
                    composite.score,
                    composite.withheld,
                )
            )
        for level, figures, names in (
            ("dimension", results.dimensions, dimension_names),
            ("statement", results.items, item_names),
        ):
            for (group, key), figure in sorted(figures.items()):
                out.append(
                    _row(
                        week,
                        group,
                        level,
                        key,
                        names.get(key, key),
                        figure.respondents,
                        figure.mean,
                        figure.favourable,
                        None,
                        figure.withheld,
                    )
                )
    return out


def _row(week, group, level, key, name, respondents, mean, favourable, score, withheld) -> tuple:
    rounded = [None if value is None else round(value, 3) for value in (mean, favourable, score)]
    return (
        week.isoformat(),
        group,
        level,
        key,
        name,
        respondents,
        *rounded,
        "withheld" if withheld else "shown",
    )


def to_csv(table: Sequence[tuple]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in table:
        writer.writerow([defuse(cell) for cell in row])
    return buffer.getvalue()
