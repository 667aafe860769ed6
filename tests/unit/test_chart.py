"""The digest's trend chart and heatmap: valid, deterministic PNGs that stay legible in Persian."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta
from io import BytesIO

import pytest
from PIL import Image

from bot.domain.digest import DimensionRow, TrendPoint
from bot.slack.chart import (
    DPI,
    HEATMAP_WIDTH_PX,
    HEIGHT_PX,
    LABEL_KEYS,
    WIDTH_PX,
    _cell,
    _date_ticks,
    _shape,
    _tick_labels,
    heatmap_height_px,
    render_heatmap,
    render_trend,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

ENGLISH = {
    "title": "Sales–marketing alignment",
    "sales": "Sales",
    "marketing": "Marketing",
    "everyone": "Everyone",
    "undefined": "Undefined",
    "defined": "Defined",
    "aligned": "Aligned",
    "integrated": "Integrated",
    "score_axis": "Composite score (20–100)",
    "week_axis": "Week",
    "no_data": "No scores yet: every group is below the anonymity threshold",
    "interval": "Everyone: 95% interval",
    "baseline": "Baseline",
    "heatmap_title": "Each dimension, 1 to 5",
    "gap": "Gap (marketing − sales)",
    "withheld": "Too few answers",
}
# Every Persian-only letter (پ چ ژ گ), ی, ZWNJ, the hamza above of «آستانهٔ» and brackets.
PERSIAN = {
    "title": "همسویی فروش و بازاریابی",
    "sales": "فروش",
    "marketing": "بازاریابی",
    "everyone": "همه",
    "undefined": "تعریف‌نشده",
    "defined": "تعریف‌شده",
    "aligned": "همسو",
    "integrated": "یکپارچه",
    "score_axis": "امتیاز ترکیبی (۲۰ تا ۱۰۰)",
    "week_axis": "هفتهٔ گزارش",
    "no_data": "هنوز امتیازی نیست؛ هیچ گروهی به آستانهٔ ناشناس‌ماندن نرسیده (ژ چ پ گ)",
    "interval": "همه: بازهٔ اطمینان ۹۵٪",
    "baseline": "سنجش پایه",
    "heatmap_title": "هر محور، از ۱ تا ۵",
    "gap": "اختلاف (بازاریابی − فروش)",
    "withheld": "پاسخ کافی نیست",
}
LABELS = {"en": ENGLISH, "fa": PERSIAN}


def weekly(count: int) -> list[TrendPoint]:
    start = date(2025, 1, 6)
    return [
        TrendPoint(
            start + timedelta(weeks=index), 40.0 + index % 5 * 6, 30.0 + index % 7 * 8, 45.0 + index % 4 * 5
        )
        for index in range(count)
    ]


WITH_GAPS = [
    TrendPoint(date(2025, 3, 3), 45.0, None, 50.0),
    TrendPoint(date(2025, 3, 10), None, 52.0, 55.0),
    TrendPoint(date(2025, 3, 17), 61.0, 58.0, None),
    TrendPoint(date(2025, 3, 24), 66.5, None, 71.0),
]
ALL_WITHHELD = [TrendPoint(date(2025, 3, 3) + timedelta(weeks=index), None, None, None) for index in range(4)]
CASES = {
    "no weeks": [],
    "one point": weekly(1),
    "twelve points": weekly(12),
    "withheld gaps": WITH_GAPS,
    "no data": ALL_WITHHELD,
}


def glyph_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [
        str(warning.message)
        for warning in caught
        if "missing from font" in str(warning.message) or "Glyph" in str(warning.message)
    ]


@pytest.mark.parametrize("language", ["en", "fa"])
@pytest.mark.parametrize("case", list(CASES))
def test_renders_a_png_of_the_expected_size_without_missing_glyphs(language: str, case: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_trend(CASES[case], language, LABELS[language])

    assert png.startswith(PNG_SIGNATURE)
    with Image.open(BytesIO(png)) as image:
        image.verify()
    with Image.open(BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (WIDTH_PX, HEIGHT_PX)
    assert glyph_warnings(caught) == []


def test_the_png_carries_the_chosen_resolution_and_no_software_stamp() -> None:
    png = render_trend(weekly(3), "en", ENGLISH)

    with Image.open(BytesIO(png)) as image:
        assert round(image.info["dpi"][0]) == DPI
        assert "Software" not in image.info


def test_persian_letters_all_have_glyphs() -> None:
    every_letter = {key: "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیآأؤئءةۀ‌ٔ۰۱۲۳۴۵۶۷۸۹٫٪" for key in LABEL_KEYS}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_trend(ALL_WITHHELD, "fa", every_letter)

    assert glyph_warnings(caught) == []


def test_the_same_input_gives_byte_identical_output() -> None:
    for language in ("en", "fa"):
        assert render_trend(WITH_GAPS, language, LABELS[language]) == render_trend(
            WITH_GAPS, language, LABELS[language]
        )


def test_concurrent_renders_match_a_lone_render() -> None:
    expected = {language: render_trend(weekly(8), language, LABELS[language]) for language in ("en", "fa")}
    languages = ["en", "fa"] * 4

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda language: render_trend(weekly(8), language, LABELS[language]), languages)
        )

    assert results == [expected[language] for language in languages]


def test_withheld_weeks_change_the_picture() -> None:
    complete = [TrendPoint(point.week, 50.0, 50.0, 50.0) for point in WITH_GAPS]

    assert render_trend(WITH_GAPS, "en", ENGLISH) != render_trend(complete, "en", ENGLISH)


def test_missing_labels_are_named() -> None:
    labels = {key: value for key, value in ENGLISH.items() if key not in {"no_data", "title"}}

    with pytest.raises(ValueError, match="no_data, title"):
        render_trend(weekly(2), "en", labels)


def test_shape_joins_persian_letters_and_puts_them_in_visual_order() -> None:
    shaped = _shape("سلام", "fa")

    # Right to left: final meem leftmost, then lam and alef joined into one ligature, initial seen.
    assert shaped == "\ufee1\ufefc\ufeb3"


def test_shape_keeps_the_ezafe_hamza_and_spells_heh_with_yeh_above_with_it() -> None:
    assert _shape("هفتهٔ", "fa") == _shape("هفتۀ", "fa")
    assert "\u0654" in _shape("هفتهٔ", "fa")


def test_shape_mirrors_brackets_in_right_to_left_text() -> None:
    shaped = _shape("امتیاز (۲۰)", "fa")

    assert shaped.startswith("(۲۰)")


def test_shape_leaves_english_alone() -> None:
    assert _shape("Sales (20–100)", "en") == "Sales (20–100)"


def test_date_ticks_are_thinned_and_keep_the_latest_week() -> None:
    weeks = [point.week for point in weekly(30)]

    ticks = _date_ticks(weeks)

    assert len(ticks) <= 12
    assert ticks[-1] == weeks[-1]
    assert _date_ticks([]) == []


@pytest.mark.parametrize("language", ["en", "fa"])
def test_writes_charts_to_look_at(language: str, tmp_path) -> None:
    """Writes the 12-week chart with gaps, the one to open and look at while changing the layout."""
    points = weekly(12)
    points[4] = TrendPoint(points[4].week, None, points[4].marketing, points[4].everyone)
    points[7] = TrendPoint(points[7].week, points[7].sales, None, points[7].everyone)
    path = tmp_path / f"trend-{language}.png"

    path.write_bytes(render_trend(points, language, LABELS[language]))

    with Image.open(path) as image:
        assert image.size == (WIDTH_PX, HEIGHT_PX)


def test_the_company_interval_is_drawn_as_a_band() -> None:
    plain = weekly(6)
    banded = [
        TrendPoint(p.week, p.sales, p.marketing, p.everyone, p.everyone - 4, p.everyone + 4) for p in plain
    ]

    assert render_trend(banded, "en", ENGLISH) != render_trend(plain, "en", ENGLISH)


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_baseline_week_is_marked(language: str) -> None:
    plain = weekly(6)
    marked = [replace(plain[0], baseline=True), *plain[1:]]

    assert render_trend(marked, language, LABELS[language]) != render_trend(plain, language, LABELS[language])


def test_english_ticks_carry_the_year_under_the_first_tick_and_at_new_year() -> None:
    ticks = [date(2025, 12, 22), date(2025, 12, 29), date(2026, 1, 5)]

    assert _tick_labels(ticks, "en") == ["12-22\n2025", "12-29", "01-05\n2026"]


def test_persian_ticks_are_jalali_in_persian_digits_with_the_solar_year() -> None:
    # 25 May 2026 is 4 Khordad 1405; 21 March 2026 is 1 Farvardin 1405, the Persian new year.
    ticks = [date(2026, 3, 16), date(2026, 3, 23), date(2026, 5, 25)]

    assert _tick_labels(ticks, "fa") == ["۱۲/۲۵\n۱۴۰۴", "۰۱/۰۳\n۱۴۰۵", "۰۳/۰۴"]


ROWS = [
    DimensionRow("information", 3.25, 3.9, 0.65),
    DimensionRow("planning", None, 4.1, None),
    DimensionRow("structures", 2.1, 1.8, -0.3),
]
NAMES = {
    "en": {"information": "Information", "planning": "Planning", "structures": "Structures"},
    "fa": {"information": "تبادل اطلاعات", "planning": "برنامه‌ریزی مشترک", "structures": "ساختارها"},
}


@pytest.mark.parametrize("language", ["en", "fa"])
@pytest.mark.parametrize("rows", [ROWS, [], ROWS[1:2]], ids=["three", "none", "all withheld"])
def test_the_heatmap_is_a_png_sized_by_its_rows_without_missing_glyphs(language: str, rows) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_heatmap(rows, language, LABELS[language], NAMES[language])

    with Image.open(BytesIO(png)) as image:
        assert image.size == (HEATMAP_WIDTH_PX, heatmap_height_px(len(rows)))
    assert glyph_warnings(caught) == []
    assert png == render_heatmap(rows, language, LABELS[language], NAMES[language])


def test_heatmap_cells_write_means_and_the_signed_gap_in_the_readers_digits() -> None:
    assert _cell(3.25, "sales", "en")[1] == "3.2"
    assert _cell(0.65, "gap", "en")[1] == "+0.7"
    assert _cell(-0.3, "gap", "fa")[1] == "−۰٫۳"
    assert _cell(3.9, "marketing", "fa")[1] == "۳٫۹"


def test_a_withheld_heatmap_cell_has_no_number_and_no_colour() -> None:
    for column in ("sales", "marketing", "gap"):
        assert _cell(None, column, "en") == (None, "")


@pytest.mark.parametrize("language", ["en", "fa"])
def test_writes_heatmaps_to_look_at(language: str, tmp_path) -> None:
    path = tmp_path / f"heatmap-{language}.png"

    path.write_bytes(render_heatmap(ROWS, language, LABELS[language], NAMES[language]))

    with Image.open(path) as image:
        assert image.size == (HEATMAP_WIDTH_PX, heatmap_height_px(len(ROWS)))
