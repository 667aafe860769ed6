"""The leadership digest's pictures, as PNGs: the trend of the composite alignment scores over the
last weeks, and a heatmap of each dimension for sales, marketing and the gap between them.

Drawn with matplotlib's object API on an Agg canvas, never pyplot, so renders running at the same
time in the bot's worker threads share no figure state. The bot draws a digest's two pictures in a
process of its own (`digest_pictures`, spawned by `Presenter.digest_pictures`), so that matplotlib and
Pillow never load in the long-lived server. Every word on a chart comes from
`labels`, already translated by the caller; this module draws only numbers and dates of its own,
written by bot/slack/formatting.py in the reader's digits and calendar (Jalali for Persian).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from io import BytesIO
from pathlib import Path

import matplotlib
from arabic_reshaper import ArabicReshaper
from bidi.algorithm import get_display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle

from bot.domain.digest import DimensionRow, TrendPoint
from bot.slack import formatting

# DejaVu Sans ships inside matplotlib and has the Arabic presentation forms Persian needs (پ چ ژ گ ی);
# naming the file rather than the family keeps a differently built system copy from standing in.
_FONT_FILE = Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")

LABEL_KEYS = frozenset(
    {
        "title",
        "sales",
        "marketing",
        "everyone",
        "undefined",
        "defined",
        "aligned",
        "integrated",
        "score_axis",
        "week_axis",
        "no_data",
        "interval",
        "baseline",
    }
)
HEATMAP_LABEL_KEYS = frozenset({"heatmap_title", "sales", "marketing", "gap", "withheld", "no_data"})

WIDTH_PX, HEIGHT_PX, DPI = 800, 450, 100

# (label key, lower bound, upper bound, fill): the four stages of the 20–100 composite score.
_BANDS = (
    ("undefined", 20, 40, "#f4cccc"),
    ("defined", 40, 60, "#fce5cd"),
    ("aligned", 60, 80, "#d9ead3"),
    ("integrated", 80, 100, "#cfe2f3"),
)
# (label key, colour, marker, line width): colour-blind-safe hues, and "everyone" drawn heaviest.
_SERIES = (
    ("sales", "#d95f02", "o", 1.8),
    ("marketing", "#7570b3", "s", 1.8),
    ("everyone", "#222222", "D", 3.0),
)
_MAX_DATE_TICKS = 12
# Keeps marks: the catalog writes the ezafe as heh + hamza above («هفتهٔ»), which DejaVu draws well.
_RESHAPER = ArabicReshaper(configuration={"delete_harakat": False})
# DejaVu has no glyph for «ۀ»; heh + hamza above is the same letter and has one.
_HEH_WITH_YEH_ABOVE, _HEH_AND_HAMZA_ABOVE = "\u06c0", "\u0647\u0654"
_HALF_WEEK_DAYS = 3.5  # x-axis margin, so the first and last markers sit clear of the frame


def _shape(text: str, language: str) -> str:
    """Persian joined and put in visual order: matplotlib <3.11 draws code points one by one, left to right.

    Matplotlib 3.11 shapes and reorders text itself (libraqm), and reordering twice scrambles it, hence
    the `<3.11` pin. The pure-Python `bidi.algorithm` mirrors brackets (from python-bidi 0.6); the Rust
    `bidi.get_display` leaves "(" and ")" pointing the wrong way in right-to-left text.
    """
    if language != "fa":
        return text
    return get_display(_RESHAPER.reshape(text.replace(_HEH_WITH_YEH_ABOVE, _HEH_AND_HAMZA_ABOVE)))


def _font(size: float) -> FontProperties:
    return FontProperties(fname=_FONT_FILE, size=size)


def _date_ticks(weeks: Sequence[date]) -> list[date]:
    """At most `_MAX_DATE_TICKS` dates, always keeping the latest week."""
    step = max(1, math.ceil(len(weeks) / _MAX_DATE_TICKS))
    return list(weeks[::-step][::-1])


def _tick_labels(ticks: Sequence[date], language: str) -> list[str]:
    """Month and day under each tick, and the year (the reader's calendar's) under the first tick and
    under each tick where the year changes, so a chart spanning new year says which year is which."""
    labels, last_year = [], None
    for tick in ticks:
        year = formatting.year_of(tick, language)
        day = formatting.short_date(tick, language)
        labels.append(day if year == last_year else f"{day}\n{year}")
        last_year = year
    return labels


def render_trend(points: Sequence[TrendPoint], language: str, labels: Mapping[str, str]) -> bytes:
    """The trend chart as PNG bytes; withheld weeks are gaps, never bridged by a line."""
    text = _shaped_labels(labels, LABEL_KEYS, language)
    rtl = language == "fa"
    points = sorted(points, key=lambda point: point.week)
    weeks = [point.week for point in points]
    x = date2num(weeks)

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()

    for _, low, high, fill in _BANDS:
        axes.axhspan(low, high, color=fill, alpha=0.6, linewidth=0, zorder=0)
    axes.set_ylim(20, 100)
    axes.set_yticks(
        range(20, 101, 10),
        [formatting.number(value, language) for value in range(20, 101, 10)],
        fontproperties=_font(9),
    )
    bands = axes.secondary_yaxis("right")
    bands.set_yticks(
        [(low + high) / 2 for _, low, high, _ in _BANDS],
        [text[key] for key, *_ in _BANDS],
        fontproperties=_font(9),
    )
    bands.tick_params(length=0)

    # The company score's 95 % interval, a shade around its line; withheld weeks leave a gap.
    low = [math.nan if point.low is None or point.everyone is None else point.low for point in points]
    high = [math.nan if point.high is None or point.everyone is None else point.high for point in points]
    interval = axes.fill_between(
        x, low, high, color=_SERIES[-1][1], alpha=0.15, linewidth=0, zorder=2, label=text["interval"]
    )

    lines = []
    for key, colour, marker, width in _SERIES:
        values = [math.nan if getattr(point, key) is None else getattr(point, key) for point in points]
        # Unclipped so a marker on 20 or 100 shows whole (scores never leave that range), and kept out
        # of the layout, which would otherwise place an empty line's bounding box at the figure's corner.
        (line,) = axes.plot(
            x,
            values,
            color=colour,
            marker=marker,
            markersize=6,
            linewidth=width,
            label=text[key],
            zorder=3,
            clip_on=False,
            in_layout=False,
        )
        lines.append(line)

    # The baseline's week (every scored statement, asked once): a dotted line, named at its foot.
    for point in points:
        if point.baseline:
            at = date2num(point.week)
            axes.axvline(at, color="#555555", linestyle=":", linewidth=1.2, zorder=1)
            axes.annotate(
                text["baseline"],
                (at, 20),
                xytext=(-3 if rtl else 3, 3),
                textcoords="offset points",
                ha="right" if rtl else "left",
                va="bottom",
                fontproperties=_font(8),
                color="#333333",
            )

    ticks = _date_ticks(weeks)
    axes.set_xticks(date2num(ticks), _tick_labels(ticks, language), fontproperties=_font(8))
    if weeks:
        axes.set_xlim(x[0] - _HALF_WEEK_DAYS, x[-1] + _HALF_WEEK_DAYS)
    axes.set_xlabel(text["week_axis"], fontproperties=_font(10))
    axes.set_ylabel(text["score_axis"], fontproperties=_font(10))
    axes.set_title(text["title"], fontproperties=_font(13))
    axes.spines["top"].set_visible(False)

    if all(getattr(point, key) is None for point in points for key, *_ in _SERIES):
        _say_no_data(axes, text["no_data"], framed=True)

    # Right-to-left readers meet the first series at the right, each marker on its name's right.
    handles = [*lines, interval] if any(value == value for value in low) else lines
    figure.legend(
        handles=handles[::-1] if rtl else handles,
        loc="outside lower center",
        ncols=len(handles),
        markerfirst=not rtl,
        frameon=False,
        prop=_font(9),
    )

    return _png(figure)


def digest_pictures(
    points: Sequence[TrendPoint],
    rows: Sequence[DimensionRow],
    language: str,
    labels: Mapping[str, str],
    dimensions: Mapping[str, str],
) -> tuple[bytes, bytes]:
    """A digest's trend chart and heatmap, drawn together: one process start serves both."""
    return render_trend(points, language, labels), render_heatmap(rows, language, labels, dimensions)


def _shaped_labels(labels: Mapping[str, str], keys: frozenset[str], language: str) -> dict[str, str]:
    missing = keys - labels.keys()
    if missing:
        raise ValueError(f"chart labels missing: {', '.join(sorted(missing))}")
    return {key: _shape(labels[key], language) for key in keys}


def _png(figure: Figure) -> bytes:
    buffer = BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


HEATMAP_WIDTH_PX = 800
_HEATMAP_ROW_PX, _HEATMAP_FRAME_PX = 44, 130
# Means from 1 to 5, red (disagree) to green (agree); the gap, marketing − sales, purple to orange.
_MEAN_COLOURS, _MEAN_RANGE = matplotlib.colormaps["RdYlGn"], (1.0, 5.0)
_GAP_COLOURS, _GAP_LIMIT = matplotlib.colormaps["PuOr_r"], 2.0
_WITHHELD_FILL, _WITHHELD_HATCH = "#eeeeee", "//"


def heatmap_height_px(rows: int) -> int:
    return _HEATMAP_FRAME_PX + _HEATMAP_ROW_PX * max(rows, 2)


def _cell(value: float | None, column: str, language: str) -> tuple[str | None, str]:
    """(fill, text) of one cell; a withheld cell has no fill and no number."""
    if value is None:
        return None, ""
    if column == "gap":
        share = (max(-_GAP_LIMIT, min(_GAP_LIMIT, value)) + _GAP_LIMIT) / (2 * _GAP_LIMIT)
        return to_hex(_GAP_COLOURS(share)), formatting.signed(value, language, 1)
    low, high = _MEAN_RANGE
    share = (min(high, max(low, value)) - low) / (high - low)
    return to_hex(_MEAN_COLOURS(share)), formatting.number(value, language, 1)


def render_heatmap(
    rows: Sequence[DimensionRow], language: str, labels: Mapping[str, str], dimension_names: Mapping[str, str]
) -> bytes:
    """Dimensions down, sales, marketing and their gap across, as PNG bytes. A group withheld under the
    anonymity threshold is a hatched cell saying so, never a number; so is a gap one side of which is."""
    text = _shaped_labels(labels, HEATMAP_LABEL_KEYS, language)
    rtl = language == "fa"
    columns = ["sales", "marketing", "gap"]
    if rtl:  # right-to-left readers start at the right: sales rightmost, row names on the right
        columns.reverse()

    figure = Figure(
        figsize=(HEATMAP_WIDTH_PX / DPI, heatmap_height_px(len(rows)) / DPI), dpi=DPI, layout="constrained"
    )
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_xlim(0, len(columns))
    axes.set_ylim(max(len(rows), 1), 0)
    for y, row in enumerate(rows):
        for x, column in enumerate(columns):
            fill, number = _cell(getattr(row, column), column, language)
            axes.add_patch(
                Rectangle(
                    (x, y),
                    1,
                    1,
                    facecolor=fill or _WITHHELD_FILL,
                    hatch=None if fill else _WITHHELD_HATCH,
                    edgecolor="white" if fill else "#bbbbbb",
                    linewidth=2,
                )
            )
            axes.text(
                x + 0.5,
                y + 0.5,
                number or text["withheld"],
                ha="center",
                va="center",
                fontproperties=_font(11 if number else 9),
                color="#222222" if number else "#666666",
                bbox=None if number else {"facecolor": "white", "edgecolor": "none", "pad": 2},
            )
    if not rows:
        _say_no_data(axes, text["no_data"])

    axes.xaxis.tick_top()
    axes.set_xticks(
        [x + 0.5 for x in range(len(columns))], [text[column] for column in columns], fontproperties=_font(10)
    )
    axes.set_yticks(
        [y + 0.5 for y in range(len(rows))],
        [_shape(dimension_names.get(row.dimension, row.dimension), language) for row in rows],
        fontproperties=_font(10),
    )
    if rtl:
        axes.yaxis.tick_right()
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    # Over the whole figure, not the cells: the title is wider than the three columns.
    figure.suptitle(text["heatmap_title"], fontproperties=_font(13))
    return _png(figure)


def _say_no_data(axes, words: str, framed: bool = False) -> None:
    """`words` across the middle of an empty plot (framed over the trend's grid)."""
    frame = {"facecolor": "white", "edgecolor": "#999999", "boxstyle": "round,pad=0.5"} if framed else None
    axes.text(
        0.5,
        0.5,
        words,
        transform=axes.transAxes,
        ha="center",
        va="center",
        fontproperties=_font(12),
        bbox=frame,
        zorder=4,
    )
