"""What the bot keeps of a CRM pipeline: leads, deals and forecasts, each by its CRM record id.

Owners are kept only as an opaque id (a keyed hash of the CRM's owner id, never a name), so the
figures can count how many people stand behind them without ever naming or singling one out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Kind(StrEnum):
    LEADS = "leads"
    DEALS = "deals"
    FORECAST = "forecast"


ACCEPTED, REJECTED = "accepted", "rejected"
WON, LOST = "won", "lost"
MARKETING, SALES = "marketing", "sales"


@dataclass(frozen=True)
class Lead:
    record_id: str
    owner: str | None
    created_at: datetime | None
    mql_at: datetime | None
    decision: str | None
    """`accepted` or `rejected` by sales; None while undecided."""
    rejection_reason: str | None
    sql_at: datetime | None
    first_touch_at: datetime | None


@dataclass(frozen=True)
class Deal:
    record_id: str
    owner: str | None
    created_at: datetime | None
    amount: Decimal | None
    stage: str | None
    close_date: date | None
    outcome: str | None
    """`won` or `lost` once closed; None while open."""
    source: str | None
    """`marketing` or `sales`; None when the export does not say."""


@dataclass(frozen=True)
class Forecast:
    period: str
    """Canonical: `2026-Q3`, `2026-07` (a month) or `2026-W27` (an ISO week)."""
    forecast: Decimal
    actual: Decimal | None


Record = Lead | Deal | Forecast


def record_key(record: Record) -> str:
    """The id a record is kept under: re-importing it replaces it instead of adding another."""
    return record.period if isinstance(record, Forecast) else record.record_id


def opaque_owner(team_id: str, crm_owner_id: str) -> str:
    """The owner as the bot keeps them: the same person maps to the same id within one workspace,
    and nothing in it leads back to a CRM user."""
    return hashlib.sha256(f"{team_id}\x00{crm_owner_id}".encode()).hexdigest()[:16]
