"""The mapping step's pure parts: the header row's fingerprint, the preselected columns, the kind
guessed, and a survey reading a file through an admin's mapping."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.pipeline import Kind
from bot.domain.pipeline_csv import survey
from bot.domain.pipeline_mapping import (
    MAX_OPTIONS,
    fields_of,
    fingerprint,
    guess_kind,
    mapping_step,
    preselect,
)

HEADERS = ("Contact Number", "Created On", "Qualified On", "Verdict", "Why Rejected")


def test_the_fingerprint_ignores_order_case_and_punctuation_but_not_the_columns():
    assert fingerprint(HEADERS) == fingerprint(("created on", "CONTACT-NUMBER", *HEADERS[2:]))
    assert fingerprint(HEADERS) == fingerprint(tuple(reversed(HEADERS)))
    assert fingerprint(HEADERS) != fingerprint(HEADERS[:-1])
    assert fingerprint(HEADERS) != fingerprint((*HEADERS[:-1], "Rejected Why Not"))
    assert len(fingerprint(HEADERS)) == 32


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=8), st.randoms())
def test_the_fingerprint_is_the_same_for_any_order_of_the_same_headers(headers, random):
    shuffled = list(headers)
    random.shuffle(shuffled)
    assert fingerprint(headers) == fingerprint(shuffled)


def test_close_headers_are_preselected_and_far_ones_are_not():
    chosen = preselect(HEADERS, Kind.LEADS)
    assert chosen["created_at"] == 1  # "Created On" is close to "Created Date"
    assert "record_id" not in chosen  # "Contact Number" is not "Contact ID": the admin chooses
    assert "status" not in chosen and "rejection_reason" not in chosen
    assert preselect(("Lead ID", "Created", "Amount"), Kind.LEADS) == {"record_id": 0, "created_at": 1}


def test_each_column_is_preselected_for_one_field_at_most():
    chosen = preselect(("Created Date", "Create Date", "Deal Stage", "Stage Name"), Kind.DEALS)
    assert len(set(chosen.values())) == len(chosen)
    assert chosen["created_at"] in (0, 1) and chosen["stage"] in (2, 3)


def test_the_kind_is_guessed_from_the_closest_required_fields():
    assert guess_kind(("Opportunity Number", "Amount", "Closing Date")) is Kind.DEALS
    assert guess_kind(("Quarter Name", "Forecast Value", "Actual Value")) is Kind.FORECAST
    assert guess_kind(HEADERS) is Kind.LEADS


def test_the_step_lists_the_needed_fields_first_and_offers_at_most_slacks_limit():
    step = mapping_step([f"Column {n}" for n in range(150)], Kind.DEALS)
    assert step.fields[:2] == ("record_id", "amount") == step.required
    assert set(step.fields) == set(fields_of(Kind.DEALS))
    assert len(step.options) == MAX_OPTIONS


def file(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


def test_a_survey_reads_the_columns_an_admin_mapped_by_header_or_by_index():
    data = ",".join(HEADERS) + "\nC1,2026-03-02,2026-03-03,Qualified,\n"
    unmapped = survey(file(data))
    assert unmapped.unmapped and not unmapped.mapped
    by_header = survey(
        file(data), mapping={"record_id": "contact number", "created_at": "Created On", "status": "Verdict"}
    )
    assert by_header.kind is Kind.LEADS and by_header.importable and by_header.mapped
    assert by_header.columns["record_id"] == 0 and by_header.columns["status"] == 3
    by_index = survey(file(data), Kind.LEADS, mapping={"record_id": 0, "created_at": 1, "mql_at": 2})
    assert by_index.importable and by_index.columns["mql_at"] == 2


def test_a_mapped_column_is_no_longer_read_as_the_field_it_was_recognised_as():
    data = "Lead ID,Created,Real Created\nL1,2026-03-02,2026-03-01\n"
    found = survey(file(data), mapping={"created_at": "Real Created", "mql_at": "Created"})
    assert found.columns == {"record_id": 0, "created_at": 2, "mql_at": 1}


def test_a_wrong_mapping_is_reported_on_the_header_line():
    data = ",".join(HEADERS) + "\nC1,2026-03-02,2026-03-03,Qualified,\n"
    found = survey(
        file(data),
        Kind.LEADS,
        mapping={"record_id": "Contact Number", "created_at": "Nope", "amount": "Verdict", "sql_at": 0},
    )
    assert [(p.line, p.code, p.column, p.value) for p in found.problems] == [
        (1, "unknown_header", "created_at", "Nope"),
        (1, "unknown_field", "amount", "leads"),
        (1, "header_twice", "Contact Number", "record_id, sql_at"),
    ]
    assert not found.mapped and found.rows == 0
