"""Reading CRM exports: encodings, delimiters, headers, dates, amounts, and every problem with its line."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.pipeline import ACCEPTED, LOST, MARKETING, REJECTED, SALES, WON, Deal, Forecast, Kind, Lead
from bot.domain.pipeline_csv import LISTED_PROBLEMS, records, survey
from bot.domain.pipeline_values import (
    AMBIGUOUS,
    DMY,
    MDY,
    BadValue,
    classify_date,
    parse_amount,
    parse_datetime,
    parse_period,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "pipeline-examples"
BERLIN = ZoneInfo("Europe/Berlin")
LEADS = (
    "Record ID,Create Date,Became a Marketing Qualified Lead Date,Lead Status,Rejection Reason,"
    "Became a Sales Qualified Lead Date,HubSpot Owner ID,Contact owner\n"
    "1,2026-03-02,2026-03-03 10:00,Unqualified,بودجه ندارد,,77,Ann Smith\n"
    "2,2026-03-02,2026-03-04,Qualified,,2026-03-05,78,Bob Jones\n"
)


def read(text: str | bytes, **options) -> tuple:
    data = text.encode("utf-8") if isinstance(text, str) else text
    found = survey(io.BytesIO(data), **options)
    kept = list(records(io.BytesIO(data), found, "T1", BERLIN)) if found.importable else []
    return found, kept


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_every_encoding_and_delimiter_reads_the_same_persian_leads(encoding, delimiter):
    data = LEADS.replace(",", delimiter).encode(encoding)
    found, kept = read(data)
    assert found.problems == [] and found.kind is Kind.LEADS and found.delimiter == delimiter
    assert [lead.rejection_reason for lead in kept] == ["بودجه ندارد", None]
    assert [lead.decision for lead in kept] == [REJECTED, ACCEPTED]
    assert kept[0].mql_at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


def test_windows_1252_is_read_when_the_file_is_not_utf8():
    found, kept = read(LEADS.replace("بودجه ندارد", "Kein Büdget – später").encode("cp1252"))
    assert found.encoding == "cp1252" and kept[0].rejection_reason == "Kein Büdget – später"


def test_owner_names_are_never_kept_and_owner_ids_only_opaquely():
    _, kept = read(LEADS)
    assert all(isinstance(lead, Lead) for lead in kept)
    text = repr(kept)
    assert "Ann" not in text and "Bob" not in text and "'77'" not in text
    assert kept[0].owner and len(kept[0].owner) == 16


def test_persian_digits_in_dates_and_amounts():
    found, kept = read("Record ID,Create Date,Amount,Deal Stage\nD1,۲۰۲۶-۰۳-۰۲,۱۲٬۵۰۰٫۵۰ ریال,closedwon\n")
    assert found.problems == []
    assert kept == [
        Deal(
            "D1",
            None,
            datetime(2026, 3, 1, 23, 0, tzinfo=UTC),
            Decimal("12500.50"),
            "closedwon",
            None,
            WON,
            None,
        )
    ]


def test_an_ambiguous_date_is_asked_not_guessed_and_the_answer_is_used():
    text = "Record ID,Create Date\nL1,03/04/2026\nL2,05/06/2026\n"
    found, kept = read(text)
    assert not found.importable and kept == [] and found.problem_count == 0
    assert (found.ambiguous_date.line, found.ambiguous_date.value) == (2, "03/04/2026")
    _, kept = read(text, date_order=MDY)
    assert kept[0].created_at.date() == date(2026, 3, 3)  # 4 March, midnight in Berlin = 3 March UTC
    _, kept = read(text, date_order=DMY)
    assert kept[0].created_at == datetime(2026, 4, 2, 22, 0, tzinfo=UTC)


def test_one_unambiguous_date_settles_the_order_for_the_whole_file():
    found, kept = read("Record ID,Create Date\nL1,03/04/2026\nL2,03/25/2026\n")
    assert found.date_order == MDY and found.importable
    assert kept[0].created_at.astimezone(BERLIN).date() == date(2026, 3, 4)


def test_dates_in_both_orders_are_a_problem():
    found, _ = read("Record ID,Create Date\nL1,25/03/2026\nL2,03/25/2026\n")
    assert [(p.line, p.code) for p in found.problems] == [(3, "mixed_date_orders")]


def test_problems_carry_line_numbers_the_first_few_are_listed_and_all_counted():
    rows = "".join(f"L{n},not a date\n" for n in range(LISTED_PROBLEMS + 3))
    found, kept = read("Record ID,Create Date\n" + rows)
    assert kept == [] and found.problem_count == LISTED_PROBLEMS + 3
    assert [p.line for p in found.problems] == list(range(2, 2 + LISTED_PROBLEMS))
    assert found.problems[0].column == "Create Date" and found.problems[0].value == "not a date"


def test_empty_rows_and_exact_repeats_are_skipped_but_a_conflicting_repeat_is_a_problem():
    found, kept = read("Record ID,Create Date\nL1,2026-03-02\n\n,\nL1,2026-03-02\nL2,2026-03-03\n")
    assert found.importable and [lead.record_id for lead in kept] == ["L1", "L2"]
    assert (found.empty_rows, found.duplicate_lines) == (2, {5})
    found, _ = read("Record ID,Create Date\nL1,2026-03-02\nL1,2026-03-09\n")
    assert [(p.line, p.code, p.value) for p in found.problems] == [(3, "conflicting_duplicate", "L1")]


def test_a_row_without_an_id_is_a_problem():
    found, _ = read("Record ID,Create Date\n,2026-03-02\n")
    assert [(p.line, p.code) for p in found.problems] == [(2, "missing_id")]


def test_a_file_that_stops_being_utf8_after_its_start_is_reported_where_it_does():
    rows = "".join(
        f"L{n},2026-03-02,رد شده\n" for n in range(3000)
    )  # past the sample the encoding is told from
    data = ("Record ID,Create Date,Lead Status\n" + rows).encode("utf-8") + b"L,2026-03-02,\xff\xfe\n"
    found, kept = read(data)
    assert found.encoding == "utf-8" and kept == []
    assert [(p.line, p.code) for p in found.problems] == [(3002, "not_text")]


def test_unknown_columns_and_missing_columns_are_explained():
    found, _ = read("Name,Phone\nAnn,123\n")
    assert [p.code for p in found.problems] == ["unknown_kind"]
    found, _ = read("Name,Phone\nAnn,123\n", kind=Kind.DEALS)
    assert [(p.code, p.value) for p in found.problems] == [("missing_columns", "record_id, amount")]
    found, _ = read("")
    assert [p.code for p in found.problems] == ["empty_file"]


def test_the_example_files_read_whole():
    leads, kept_leads = read((EXAMPLES / "hubspot-contacts.csv").read_bytes())
    deals, kept_deals = read((EXAMPLES / "salesforce-opportunities.csv").read_bytes())
    forecasts, kept_forecasts = read((EXAMPLES / "forecast.csv").read_bytes())
    assert (leads.kind, deals.kind, forecasts.kind) == (Kind.LEADS, Kind.DEALS, Kind.FORECAST)
    assert (len(kept_leads), len(kept_deals), len(kept_forecasts)) == (8, 5, 3)
    assert deals.empty_rows == 4  # the blank line and Salesforce's totals and copyright footer
    assert [(d.outcome, d.source) for d in kept_deals][:3] == [(WON, MARKETING), (LOST, SALES), (WON, SALES)]
    assert kept_forecasts[0] == Forecast("2025-Q4", Decimal(120000), Decimal(112500))


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("$1,234.56", "1234.56"),
        ("1.234,56 €", "1234.56"),
        ("1 234 567", "1234567"),
        ("USD 12,000", "12000"),
        ("(250.00)", "-250.00"),
        ("1,5", "1.5"),
        ("۱۲٬۳۴۵ تومان", "12345"),
        ("CHF 1'000.50", "1000.50"),
    ],
)
def test_amounts(text, amount):
    assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["12abc", "1.2.3,4,5", "--3", "(-4)", ""])
def test_not_amounts(text):
    with pytest.raises(BadValue):
        parse_amount(text)


@given(st.decimals(min_value=0, max_value=10**12, places=2), st.sampled_from([(",", "."), (".", ",")]))
def test_an_amount_written_with_thousands_separators_reads_back(value, marks):
    thousands, decimal_mark = marks
    whole, _, cents = f"{value:,.2f}".partition(".")
    written = whole.replace(",", thousands) + decimal_mark + cents
    assert parse_amount(written) == value


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("2026-03-04", "iso"),
        ("3/4/2026", AMBIGUOUS),
        ("13/4/2026", DMY),
        ("4/13/2026", MDY),
        ("4.3.2026", DMY),
    ],
)
def test_date_shapes(text, order):
    assert classify_date(text).order == order


@pytest.mark.parametrize("text", ["2026-02-30", "13/13/2026", "1404-12-01", "tomorrow", "4/13/2026 13:00 PM"])
def test_not_dates(text):
    with pytest.raises(BadValue):
        parse_datetime(text, MDY, BERLIN)


def test_times_and_offsets():
    assert parse_datetime("4/13/2026 2:05 PM", None, BERLIN) == datetime(2026, 4, 13, 12, 5, tzinfo=UTC)
    assert parse_datetime("2026-04-13T10:00:00Z", None, BERLIN) == datetime(2026, 4, 13, 10, 0, tzinfo=UTC)
    assert parse_datetime("Mar 4, 2026", None, UTC) == datetime(2026, 3, 4, tzinfo=UTC)


def test_periods():
    assert [parse_period(p) for p in ("Q3 2026", "2026-q3", "2026-7", "2026W5", "۲۰۲۶-Q۱")] == [
        "2026-Q3",
        "2026-Q3",
        "2026-07",
        "2026-W05",
        "2026-Q1",
    ]
    with pytest.raises(BadValue):
        parse_period("2026-Q5")
