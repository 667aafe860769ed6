"""Keeping pipeline records: written in batches, each by (workspace, record id), so a re-import
replaces a record instead of adding it again, and one that did not change is left alone."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import islice
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from bot.domain.pipeline import Deal, Forecast, Kind, Lead, Record, record_key
from storage.models import PipelineConnection, PipelineDeal, PipelineForecast, PipelineLead, PipelineMapping

BATCH = 1000
MODELS = {Kind.LEADS: PipelineLead, Kind.DEALS: PipelineDeal, Kind.FORECAST: PipelineForecast}


@dataclass
class Written:
    added: int = 0
    changed: int = 0
    unchanged: int = 0


def cents(amount: Decimal | None) -> int | None:
    if amount is None:
        return None
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def amount(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value) / 100


_LEAD_FIELDS = tuple(f.name for f in fields(Lead))
_DEAL_FIELDS = tuple(f.name for f in fields(Deal) if f.name != "amount")


def _columns(record: Record) -> dict[str, Any]:
    if isinstance(record, Lead):
        return {name: getattr(record, name) for name in _LEAD_FIELDS}
    if isinstance(record, Deal):
        values = {name: getattr(record, name) for name in _DEAL_FIELDS}
        return values | {"amount_cents": cents(record.amount)}
    return {
        "period": record.period,
        "forecast_cents": cents(record.forecast),
        "actual_cents": cents(record.actual),
    }


def write(session: Session, team_id: str, kind: Kind, records: Iterable[Record]) -> Written:
    """Add new records, replace changed ones, count the rest; in the caller's transaction."""
    model = MODELS[kind]
    key_column = model.period if kind is Kind.FORECAST else model.record_id  # type: ignore[attr-defined]
    written = Written()
    iterator = iter(records)
    while batch := list(islice(iterator, BATCH)):
        wanted = {record_key(record): _columns(record) for record in batch}
        stored = {
            row[key_column.key]: row
            for row in session.execute(
                select(model.__table__).where(model.team_id == team_id, key_column.in_(wanted))
            ).mappings()
        }
        new, changed = [], []
        for key, values in wanted.items():
            row = stored.get(key)
            if row is None:
                new.append({"team_id": team_id, **values})
            elif any(row[name] != value for name, value in values.items()):
                changed.append({"id": row["id"], **values})
            else:
                written.unchanged += 1
        if new and session.get_bind().dialect.name == "postgresql":
            _copy(session, model.__table__, new)
        elif new:
            session.execute(insert(model.__table__), new)  # Core: one executemany, not a statement per shape
        if changed:
            session.execute(update(model), changed)
        written.added, written.changed = written.added + len(new), written.changed + len(changed)
    return written


def _copy(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """New rows into PostgreSQL by `COPY … FROM STDIN` (psycopg's copy), in the session's transaction:
    several times faster than inserting them, and rolled back with it. Every value is a text, a number,
    a date or an aware instant (UTC), which COPY takes as they are."""
    columns = list(rows[0])
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def leads(session: Session, team_id: str) -> Iterator[Lead]:
    for row in session.scalars(select(PipelineLead).where(PipelineLead.team_id == team_id)):
        yield Lead(**{f.name: getattr(row, f.name) for f in fields(Lead)})


def deals(session: Session, team_id: str) -> Iterator[Deal]:
    for row in session.scalars(select(PipelineDeal).where(PipelineDeal.team_id == team_id)):
        values = {f.name: getattr(row, f.name) for f in fields(Deal) if f.name != "amount"}
        yield Deal(amount=amount(row.amount_cents), **values)


def forecasts(session: Session, team_id: str) -> list[Forecast]:
    rows = session.scalars(
        select(PipelineForecast).where(PipelineForecast.team_id == team_id).order_by(PipelineForecast.period)
    )
    return [
        Forecast(row.period, amount(row.forecast_cents) or Decimal(0), amount(row.actual_cents))
        for row in rows
    ]


# ----- connections to a CRM ------------------------------------------------------------------------


def store_crm_token(
    session: Session, team_id: str, provider: str, token: str, by: str, now: datetime
) -> None:
    """Keep a workspace's CRM token (one CRM per workspace; connecting again replaces it), encrypted at
    rest by its column's type like the Slack tokens."""
    connection = session.get(PipelineConnection, team_id)
    if connection is None:
        connection = PipelineConnection(team_id=team_id)
        session.add(connection)
    connection.provider, connection.token, connection.connected_by = provider, token, by
    connection.connected_at, connection.synced_at, connection.last_error = now, None, None


def crm_token(connection: PipelineConnection) -> str:
    """The token, decrypted as it is read."""
    return connection.token


def due_connections(session: Session, synced_before: datetime) -> list[tuple[str, str, str]]:
    """(team id, provider, token) of every connection not synced since `synced_before`."""
    rows = session.scalars(
        select(PipelineConnection).where(
            (PipelineConnection.synced_at.is_(None)) | (PipelineConnection.synced_at <= synced_before)
        )
    )
    return [(row.team_id, row.provider, crm_token(row)) for row in rows]


def sync_marks(session: Session) -> list[tuple[datetime | None, datetime]]:
    """(last synced, connected) of every connection."""
    return [
        tuple(row)
        for row in session.execute(select(PipelineConnection.synced_at, PipelineConnection.connected_at))
    ]


def mark_synced(session: Session, team_id: str, at: datetime, error: str | None) -> None:
    connection = session.get(PipelineConnection, team_id)
    if connection is not None:
        connection.synced_at, connection.last_error = at, error


# ----- the mapping step's choices ------------------------------------------------------------------


def remembered_mapping(
    session: Session, team_id: str, fingerprint: str, kind: Kind | None
) -> tuple[Kind, dict[str, str]] | None:
    """The kind and columns an admin chose for files with this header row (of `kind`, when given):
    the latest choice."""
    query = select(PipelineMapping).where(
        PipelineMapping.team_id == team_id, PipelineMapping.fingerprint == fingerprint
    )
    if kind is not None:
        query = query.where(PipelineMapping.kind == kind.value)
    row = session.scalars(query.order_by(PipelineMapping.saved_at.desc(), PipelineMapping.id.desc())).first()
    return (Kind(row.kind), dict(row.columns)) if row else None


def remember_mapping(
    session: Session, team_id: str, kind: Kind, fingerprint: str, columns: dict[str, str], now: datetime
) -> None:
    """Keep (or replace) the columns chosen for files of `kind` with this header row."""
    row = session.scalars(
        select(PipelineMapping).where(
            PipelineMapping.team_id == team_id,
            PipelineMapping.kind == kind.value,
            PipelineMapping.fingerprint == fingerprint,
        )
    ).first()
    if row is None:
        row = PipelineMapping(team_id=team_id, kind=kind.value, fingerprint=fingerprint)
        session.add(row)
    row.columns, row.saved_at = columns, now
