"""The digest's "What the pipeline says": each figure beside the pulse statements it speaks to, with
how sales and marketing rated them, so leaders see where perception and numbers disagree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.domain.pipeline_figures import FIGURES, STATEMENTS, Figure, PipelineFigures
from bot.domain.scoring import Results
from bot.domain.vocabulary import MARKETING, SALES


@dataclass(frozen=True)
class StatementRatings:
    """One statement's mean rating (1–5) by each team; None where that team's result is withheld."""

    item_id: str
    sales: float | None
    marketing: float | None


@dataclass(frozen=True)
class PipelineLine:
    name: str
    week: Figure
    quarter: Figure
    statements: tuple[StatementRatings, ...]


@dataclass(frozen=True)
class PipelineSection:
    week: str
    """The last full week, `2026-W11`."""
    quarter: str
    """The last full quarter, `2026-Q1`."""
    lines: tuple[PipelineLine, ...]
    reasons: tuple[tuple[str, int], ...]
    """Why sales rejected MQLs last quarter, most frequent first (each given at least the threshold)."""


def ratings(results: Results | None, item_id: str) -> StatementRatings:
    def mean(group: str) -> float | None:
        figure = results.items.get((group, item_id)) if results else None
        return figure.mean if figure else None

    return StatementRatings(item_id, mean(SALES), mean(MARKETING))


def section(
    week: PipelineFigures, quarter: PipelineFigures, results: Results | None, asked: set[str]
) -> PipelineSection | None:
    """The section, or None when the pipeline has nothing to show yet. `asked`: the statements the
    workspace's bank holds (one switched off still has its past ratings)."""
    lines = tuple(
        PipelineLine(
            name,
            week.figures[name],
            quarter.figures[name],
            tuple(ratings(results, item_id) for item_id in STATEMENTS[name] if item_id in asked),
        )
        for name in FIGURES
        if week.figures[name].value is not None or quarter.figures[name].value is not None
    )
    if not lines:
        return None
    return PipelineSection(week.period, quarter.period, lines, quarter.reasons)


def export_rows(weeks: Iterable[tuple[date, PipelineFigures]]) -> list[tuple]:
    """The pipeline's weekly figures as rows of the admin's CSV export (bot/domain/export.py's columns:
    the figure in `mean`, how many records it rests on in `respondents`; withheld ones empty)."""
    out = []
    for week, figures in weeks:
        for name in FIGURES:
            figure = figures.figures[name]
            if figure.value is None and not figure.withheld:
                continue
            value = None if figure.value is None else round(figure.value, 3)
            status = "withheld" if figure.withheld else "shown"
            out.append(
                (
                    week.isoformat(),
                    "everyone",
                    "pipeline",
                    name,
                    name,
                    None if figure.withheld else figure.count,
                    value,
                    None,
                    None,
                    status,
                )
            )
    return out
