"""Reading a CRM export (CSV) into leads, deals or forecasts: twice, streaming, from a seekable file.

The first reading (`survey`) checks every row and finds everything wrong with the file, with line
numbers, and the order its dates are written in; only a file with nothing wrong is read a second
time (`records`) to be stored, so a file is imported whole or not at all and memory stays flat
(one row at a time; only the ids seen are remembered, to tell duplicates).

The encoding is told from a byte-order mark (UTF-8, UTF-16 as Excel's "Unicode text" writes it),
else UTF-8 when the start of the file is valid UTF-8, else Windows-1252; the delimiter (`,` `;` or
tab) by `csv.Sniffer`, and the columns by their headers (`COLUMNS`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol
from zoneinfo import ZoneInfo

from bot.domain.pipeline import ACCEPTED, LOST, WON, Deal, Forecast, Kind, Lead, Record, opaque_owner
from bot.domain.pipeline_values import (
    AMBIGUOUS,
    BadValue,
    classify_date,
    deal_outcome,
    deal_source,
    fast_iso,
    lead_decision,
    parse_amount,
    parse_date,
    parse_datetime,
    parse_flag,
    parse_period,
)

LISTED_PROBLEMS = 5
"""How many problems a report spells out; the rest are counted."""
SAMPLE_BYTES = 64 * 1024
MAX_OPTIONS = 100
"""Slack's limit on a select's options: the mapping step offers a file's first 100 columns."""

# A column's type says how its cells are read; `text` cells are kept as written (trimmed).
TEXT, INSTANT, DAY, AMOUNT, PERIOD, FLAG, STATUS, SOURCE, OWNER = (
    "text", "instant", "day", "amount", "period", "flag", "status", "source", "owner",
)  # fmt: skip


@dataclass(frozen=True)
class Column:
    type: str
    headers: tuple[str, ...]
    """Recognised headers, normalised (lower case, words only): Salesforce's, HubSpot's, plain ones."""


_ID_OF_OWNER = ("owner id", "hubspot owner id")
COLUMNS: dict[Kind, dict[str, Column]] = {
    Kind.LEADS: {
        "record_id": Column(TEXT, ("record id", "lead id", "contact id", "id", "hs object id")),
        "owner": Column(OWNER, (*_ID_OF_OWNER, "lead owner id", "contact owner id")),
        "created_at": Column(
            INSTANT, ("create date", "created date", "createdate", "created", "date created")
        ),
        "mql_at": Column(
            INSTANT,
            (
                "became a marketing qualified lead date",
                "hs lifecyclestage marketingqualifiedlead date",
                "mql date",
                "marketing qualified date",
                "date became mql",
            ),
        ),
        "status": Column(STATUS, ("lead status", "hs lead status", "status", "sales decision")),
        "rejection_reason": Column(
            TEXT,
            (
                "rejection reason",
                "rejected reason",
                "disqualification reason",
                "disqualified reason",
                "unqualified reason",
                "lead rejection reason",
            ),
        ),
        "sql_at": Column(
            INSTANT,
            (
                "became a sales qualified lead date",
                "hs lifecyclestage salesqualifiedlead date",
                "sql date",
                "sales qualified date",
                "converted date",
                "date became sql",
            ),
        ),
        "first_touch_at": Column(
            INSTANT,
            (
                "first sales touch",
                "first sales touch date",
                "first touch date",
                "first engagement date",
                "date of first engagement",
                "hs sa first engagement date",
                "first activity date",
                "first contacted date",
            ),
        ),
    },
    Kind.DEALS: {
        "record_id": Column(TEXT, ("record id", "opportunity id", "deal id", "id", "hs object id")),
        "owner": Column(OWNER, (*_ID_OF_OWNER, "opportunity owner id", "deal owner id")),
        "created_at": Column(
            INSTANT, ("create date", "created date", "createdate", "created", "date created")
        ),
        "amount": Column(
            AMOUNT,
            (
                "amount",
                "deal amount",
                "opportunity amount",
                "amount in company currency",
                "total contract value",
            ),
        ),
        "stage": Column(TEXT, ("stage", "deal stage", "dealstage", "opportunity stage")),
        "close_date": Column(DAY, ("close date", "closedate", "closed date")),
        "won": Column(FLAG, ("won", "is closed won", "hs is closed won", "closed won")),
        "closed": Column(FLAG, ("closed", "is closed", "hs is closed")),
        "source": Column(
            SOURCE,
            (
                "source",
                "deal source",
                "lead source",
                "opportunity source",
                "original source",
                "original source type",
                "original traffic source",
                "hs analytics source",
            ),
        ),
    },
    Kind.FORECAST: {
        "period": Column(PERIOD, ("period", "forecast period", "fiscal period", "quarter", "month", "week")),
        "forecast": Column(
            AMOUNT, ("forecast", "forecast amount", "forecasted amount", "commit", "forecast commit")
        ),
        "actual": Column(
            AMOUNT, ("actual", "actuals", "actual amount", "closed amount", "closed won amount")
        ),
    },
}
REQUIRED: dict[Kind, tuple[str, ...]] = {
    Kind.LEADS: ("record_id", "created_at"),
    Kind.DEALS: ("record_id", "amount"),
    Kind.FORECAST: ("period", "forecast"),
}
MAPPING_CODES = ("unknown_kind", "missing_columns")
"""The problems the mapping step answers: columns the bot does not recognise."""
KEY_FIELD = {Kind.LEADS: "record_id", Kind.DEALS: "record_id", Kind.FORECAST: "period"}
_UNDECODABLE = re.compile("[\udc80-\udcff]")
"""What a byte the encoding cannot decode becomes (`surrogateescape`): the line it is on is reported."""
_FOOTER = re.compile(r"(grand )?totals?\b|copyright|confidential information|generated by", re.I)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file. `code` names it (see `pipeline_import.json.j2`); line 0 is the file."""

    line: int
    code: str
    column: str = ""
    value: str = ""


@dataclass
class Survey:
    """What the first reading found: the file's shape, its counts, and everything wrong with it."""

    kind: Kind | None = None
    headers: tuple[str, ...] = ()
    columns: dict[str, int] = field(default_factory=dict)
    """Field → the index of its column."""
    encoding: str = ""
    delimiter: str = ","
    rows: int = 0
    empty_rows: int = 0
    duplicate_lines: set[int] = field(default_factory=set)
    """Rows repeating an earlier one exactly: skipped."""
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    mapped: bool = False
    """The header row was read: the kind known and a column found for each field it needs."""
    date_order: str | None = None
    ambiguous_date: Problem | None = None
    """The first date whose order the file leaves open, while `date_order` is unknown."""

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < LISTED_PROBLEMS:
            self.problems.append(problem)

    @property
    def importable(self) -> bool:
        return self.problem_count == 0 and self.ambiguous_date is None

    @property
    def unmapped(self) -> bool:
        """The file's columns need the mapping step."""
        return any(problem.code in MAPPING_CODES for problem in self.problems)


# ----- the text of the file ------------------------------------------------------------------------


def detect_encoding(head: bytes) -> str:
    """The file's encoding from its first bytes (see the module's docstring)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = head[0:200:2], head[1:200:2]
    if odd and odd.count(0) > len(odd) // 2:
        return "utf-16-le"
    if even and even.count(0) > len(even) // 2:
        return "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _delimiter(sample: str) -> str:
    header = sample.splitlines()[0] if sample else ""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return max(",;\t", key=header.count)


def normalise_header(header: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", header.replace("\ufeff", "")).lower().split())


@dataclass
class _Row:
    line: int
    cells: list[str]


class _Table:
    """The rows of an open file, each with the line it starts on; decoding errors become problems."""

    def __init__(self, stream: BinaryIO, survey: Survey) -> None:
        stream.seek(0)
        head = stream.read(SAMPLE_BYTES)
        stream.seek(0)
        survey.encoding = survey.encoding or detect_encoding(head)
        self._text = io.TextIOWrapper(stream, encoding=survey.encoding, errors="surrogateescape", newline="")
        sample = self._text.read(SAMPLE_BYTES // 4)
        self._text.seek(0)
        survey.delimiter = _delimiter(sample.lstrip("\ufeff"))
        self._reader = csv.reader(self._text, delimiter=survey.delimiter)
        self._survey = survey

    def rows(self) -> Iterator[_Row]:
        line = 1
        try:
            for cells in self._reader:
                if _UNDECODABLE.search("".join(cells)):
                    self._survey.add(Problem(line, "not_text", value=self._survey.encoding))
                else:
                    yield _Row(line, [cell.strip() for cell in cells])
                line = self._reader.line_num + 1
        except csv.Error as error:
            self._survey.add(Problem(line, "not_csv", value=str(error)))

    def detach(self) -> None:
        """Leave the caller's stream open."""
        self._text.detach()


# ----- the first reading: everything wrong, and the date order -------------------------------------


ColumnMapping = Mapping[str, int | str]
"""Field → its column, chosen by the admin: a header as written, or (from the modal) its index."""


def _choose_kind(headers: list[str], wanted: Kind | None, mapping: ColumnMapping) -> Kind | None:
    kinds = [wanted] if wanted else [Kind.FORECAST, Kind.DEALS, Kind.LEADS]  # the most specific first
    for kind in kinds:
        if any(name not in COLUMNS[kind] for name in mapping) and not wanted:
            continue
        found = _columns(headers, kind, mapping)
        if all(name in found for name in REQUIRED[kind]):
            return kind
    return wanted


def _columns(headers: list[str], kind: Kind, mapping: ColumnMapping) -> dict[str, int]:
    """Field → column index: the recognised headers, then the admin's mapping over them (a column the
    admin gave a field is no longer read as the field it was recognised as)."""
    normalised = [normalise_header(header) for header in headers]
    found: dict[str, int] = {}
    for name, column in COLUMNS[kind].items():
        for alias in column.headers:
            if alias in normalised:
                found[name] = normalised.index(alias)
                break
    chosen = {
        name: index
        for name, target in mapping.items()
        if name in COLUMNS[kind] and (index := _position(headers, normalised, target)) is not None
    }
    taken = set(chosen.values())
    return {name: index for name, index in found.items() if index not in taken} | chosen


def _position(headers: list[str], normalised: list[str], target: int | str) -> int | None:
    if isinstance(target, int):
        return target if 0 <= target < len(headers) else None
    if target in headers:
        return headers.index(target)
    wanted = normalise_header(target)
    return normalised.index(wanted) if wanted and wanted in normalised else None


def _mapping_problems(found: Survey, headers: list[str], mapping: ColumnMapping) -> None:
    normalised = [normalise_header(header) for header in headers]
    seen: dict[int, str] = {}
    for name, target in mapping.items():
        if found.kind is not None and name not in COLUMNS[found.kind]:
            found.add(Problem(1, "unknown_field", name, found.kind.value))
        elif (index := _position(headers, normalised, target)) is None:
            found.add(Problem(1, "unknown_header", name, str(target)))
        elif index in seen:
            found.add(Problem(1, "header_twice", headers[index], f"{seen[index]}, {name}"))
        else:
            seen[index] = name


def read_header(stream: BinaryIO) -> tuple[str, ...]:
    """The file's header row (its columns' names); the start of the file is enough."""
    table = _Table(stream, Survey())
    try:
        header = next(table.rows(), None)
    finally:
        table.detach()
    stream.seek(0)
    return tuple(header.cells) if header else ()


def survey(
    stream: BinaryIO,
    kind: Kind | None = None,
    date_order: str | None = None,
    mapping: ColumnMapping | None = None,
    seen: SeenKeys | None = None,
) -> Survey:
    """Read the whole file once and say what is wrong with it; `kind`, `date_order` (`dmy`/`mdy`) and
    the columns' `mapping` when the admin gave them, otherwise told from the file. `seen` keeps the
    record ids met (in memory unless given)."""
    mapping = mapping or {}
    found = Survey(date_order=date_order)
    table = _Table(stream, found)
    try:
        rows = table.rows()
        header = next(rows, None)
        if header is None or not any(header.cells):
            found.add(Problem(1, "empty_file"))
            return found
        found.headers = tuple(header.cells)
        found.kind = _choose_kind(header.cells, kind, mapping)
        _mapping_problems(found, header.cells, mapping)
        if found.kind is None:
            if not found.problem_count:
                found.add(Problem(1, "unknown_kind"))
            return found
        found.columns = _columns(header.cells, found.kind, mapping)
        missing = [name for name in REQUIRED[found.kind] if name not in found.columns]
        if missing and not found.problem_count:  # a wrong mapping is said first
            found.add(Problem(1, "missing_columns", value=", ".join(missing)))
        if found.problem_count:
            return found
        found.mapped = True
        _check_rows(rows, found, seen or KeysInMemory())
    finally:
        table.detach()
    if found.date_order is not None:
        found.ambiguous_date = None
    return found


class SeenKeys(Protocol):
    """The record ids a survey has met, each with a hash of its row, to tell repeated rows."""

    def earlier(self, key: str, content: int) -> int | None:
        """The hash of the row met earlier with `key`; None when `key` is new (it is then kept)."""
        ...


class KeysInMemory:
    """`SeenKeys` in a dict: for small files (a long file's ids are better kept on disk)."""

    def __init__(self) -> None:
        self._contents: dict[str, int] = {}

    def earlier(self, key: str, content: int) -> int | None:
        found = self._contents.get(key)
        if found is None:
            self._contents[key] = content
        return found


def _check_rows(rows: Iterator[_Row], found: Survey, seen: SeenKeys) -> None:
    assert found.kind is not None
    key_index = found.columns[KEY_FIELD[found.kind]]
    evidence: dict[str, Problem] = {}
    for row in rows:
        if not any(row.cells) or _is_footer(row.cells):
            found.empty_rows += 1
            continue
        found.rows += 1
        key = _cell(row.cells, key_index)
        if not key:
            found.add(Problem(row.line, "missing_id", _header(found, key_index)))
            continue
        if found.kind is Kind.FORECAST:
            key = _checked(found, row, key_index, PERIOD) or key
        content = hash(tuple(row.cells))
        earlier = seen.earlier(key, content)
        if earlier is not None:
            if earlier == content:
                found.duplicate_lines.add(row.line)
            else:
                found.add(Problem(row.line, "conflicting_duplicate", _header(found, key_index), key))
            continue
        for name, index in found.columns.items():
            column_type = COLUMNS[found.kind][name].type
            value = _cell(row.cells, index)
            if value and column_type in (INSTANT, DAY):
                _check_date(found, row, index, value, evidence)
            elif value and name != KEY_FIELD[found.kind]:
                _checked(found, row, index, column_type)
    if len(evidence) > 1 and found.date_order is None:
        found.add(
            Problem(evidence["mdy"].line, "mixed_date_orders", evidence["mdy"].column, evidence["mdy"].value)
        )
    elif evidence and found.date_order is None:
        found.date_order = next(iter(evidence))


def _check_date(found: Survey, row: _Row, index: int, value: str, evidence: dict[str, Problem]) -> None:
    if fast_iso(value) is not None:
        return  # a date read in full that says nothing of the order
    try:
        order = classify_date(value).order
        parse_datetime(
            value, order if order in ("dmy", "mdy") else found.date_order or "dmy", ZoneInfo("UTC")
        )
    except BadValue:
        found.add(Problem(row.line, "bad_date", _header(found, index), value))
        return
    if order == AMBIGUOUS:
        if found.ambiguous_date is None:
            found.ambiguous_date = Problem(row.line, "ambiguous_date", _header(found, index), value)
    elif order in ("dmy", "mdy"):
        evidence.setdefault(order, Problem(row.line, "date_order", _header(found, index), value))


def _checked(found: Survey, row: _Row, index: int, column_type: str) -> str | None:
    value = _cell(row.cells, index)
    try:
        if column_type == AMOUNT:
            parse_amount(value)
        elif column_type == PERIOD:
            return parse_period(value)
        elif column_type == FLAG:
            parse_flag(value)
    except BadValue:
        found.add(Problem(row.line, f"bad_{column_type}", _header(found, index), value))
    return None


def _is_footer(cells: list[str]) -> bool:
    """The lines a Salesforce report export ends with (totals, copyright, "Generated By")."""
    filled = [cell for cell in cells if cell]
    return len(filled) <= 2 and bool(_FOOTER.match(filled[0]))


def _cell(cells: list[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""


def _header(found: Survey, index: int) -> str:
    return found.headers[index]


# ----- the second reading: the records -------------------------------------------------------------


def records(stream: BinaryIO, found: Survey, team_id: str, zone: ZoneInfo) -> Iterator[Record]:
    """The file's records, for a file `survey` found importable (no empty rows, no repeats)."""
    assert found.importable and found.kind is not None
    table = _Table(stream, Survey(encoding=found.encoding))
    try:
        rows = table.rows()
        next(rows)
        for row in rows:
            if row.line in found.duplicate_lines or not any(row.cells) or _is_footer(row.cells):
                continue
            values = {name: _cell(row.cells, index) for name, index in found.columns.items()}
            yield _record(found.kind, values, found.date_order, team_id, zone)
    finally:
        table.detach()


def _record(kind: Kind, values: dict[str, str], order: str | None, team_id: str, zone: ZoneInfo) -> Record:
    def instant(name: str):
        return parse_datetime(values[name], order, zone) if values.get(name) else None

    owner = opaque_owner(team_id, values["owner"]) if values.get("owner") else None
    if kind is Kind.FORECAST:
        actual = values.get("actual")
        return Forecast(
            parse_period(values["period"]),
            parse_amount(values["forecast"]),
            parse_amount(actual) if actual else None,
        )
    if kind is Kind.LEADS:
        sql_at = instant("sql_at")
        decision = lead_decision(values.get("status", "")) or (ACCEPTED if sql_at else None)
        return Lead(
            record_id=values["record_id"],
            owner=owner,
            created_at=instant("created_at"),
            mql_at=instant("mql_at"),
            decision=decision,
            rejection_reason=values.get("rejection_reason") or None,
            sql_at=sql_at,
            first_touch_at=instant("first_touch_at"),
        )
    stage = values.get("stage") or None
    return Deal(
        record_id=values["record_id"],
        owner=owner,
        created_at=instant("created_at"),
        amount=parse_amount(values["amount"]) if values.get("amount") else None,
        stage=stage,
        close_date=parse_date(values["close_date"], order) if values.get("close_date") else None,
        outcome=_outcome(values, stage),
        source=deal_source(values["source"]) if values.get("source") else None,
    )


def _outcome(values: dict[str, str], stage: str | None) -> str | None:
    if values.get("won"):
        if parse_flag(values["won"]):
            return WON
        if values.get("closed") and parse_flag(values["closed"]):
            return LOST
    return deal_outcome(stage) if stage else None


@dataclass(frozen=True)
class MappingStep:
    """What the admin is asked when a file's headers are not recognised (the mapping step,
    bot/domain/pipeline_mapping.py): the file's headers against the fields of `kind`, with the
    preselected ones."""

    kind: Kind
    headers: tuple[str, ...]
    fields: tuple[str, ...]
    required: tuple[str, ...]
    preselected: dict[str, int] = field(default_factory=dict)

    @property
    def options(self) -> tuple[tuple[int, str], ...]:
        """(index, header) of the columns offered, at most `MAX_OPTIONS`."""
        return tuple(enumerate(self.headers[:MAX_OPTIONS]))


@dataclass(frozen=True)
class ImportReport:
    """What an import did, to tell the admin: stored (`imported`) or, if anything was wrong, nothing."""

    survey: Survey
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    mapping: MappingStep | None = None
    """When the file's columns were not recognised: what to ask the admin."""

    @property
    def imported(self) -> bool:
        return self.survey.importable

    @property
    def nothing_changed(self) -> bool:
        return self.imported and self.added == 0 and self.changed == 0
