"""The leadership digest's trend chart: composite alignment scores over the last weeks, as a PNG.

Drawn with matplotlib's object API on an Agg canvas, never pyplot, so renders running at the same
time in the bot's worker threads share no figure state. Every word on the chart comes from
`labels`, already translated by the caller; this module draws only digits of its own.
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
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from bot.domain.digest import TrendPoint

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
    }
)

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


def render_trend(points: Sequence[TrendPoint], language: str, labels: Mapping[str, str]) -> bytes:
    """The trend chart as PNG bytes; withheld weeks are gaps, never bridged by a line."""
    missing = LABEL_KEYS - labels.keys()
    if missing:
        raise ValueError(f"chart labels missing: {', '.join(sorted(missing))}")
    text = {key: _shape(labels[key], language) for key in LABEL_KEYS}
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
    axes.set_yticks(range(20, 101, 10), [str(value) for value in range(20, 101, 10)], fontproperties=_font(9))
    bands = axes.secondary_yaxis("right")
    bands.set_yticks(
        [(low + high) / 2 for _, low, high, _ in _BANDS],
        [text[key] for key, *_ in _BANDS],
        fontproperties=_font(9),
    )
    bands.tick_params(length=0)

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

    ticks = _date_ticks(weeks)
    axes.set_xticks(date2num(ticks), [f"{week:%m-%d}" for week in ticks], fontproperties=_font(8))
    if weeks:
        axes.set_xlim(x[0] - _HALF_WEEK_DAYS, x[-1] + _HALF_WEEK_DAYS)
    axes.set_xlabel(text["week_axis"], fontproperties=_font(10))
    axes.set_ylabel(text["score_axis"], fontproperties=_font(10))
    axes.set_title(text["title"], fontproperties=_font(13))
    axes.spines["top"].set_visible(False)

    if all(getattr(point, key) is None for point in points for key, *_ in _SERIES):
        axes.text(
            0.5,
            0.5,
            text["no_data"],
            transform=axes.transAxes,
            ha="center",
            va="center",
            fontproperties=_font(12),
            bbox={"facecolor": "white", "edgecolor": "#999999", "boxstyle": "round,pad=0.5"},
            zorder=4,
        )

    # Right-to-left readers meet the first series at the right, each marker on its name's right.
    figure.legend(
        handles=lines[::-1] if rtl else lines,
        loc="outside lower center",
        ncols=len(lines),
        markerfirst=not rtl,
        frameon=False,
        prop=_font(9),
    )

    buffer = BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
