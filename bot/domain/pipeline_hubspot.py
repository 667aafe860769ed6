"""HubSpot's CRM v3 objects as pipeline records: the properties asked for, and what each becomes.

Contacts become leads (the lifecycle-stage dates for MQL and SQL, the lead status for sales' decision),
deals become deals (`hs_is_closed_won`, the stage, the original source). Owner ids are kept opaque, as
from a CSV; names are never asked for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.pipeline import ACCEPTED, LOST, WON, Deal, Lead, opaque_owner
from bot.domain.pipeline_values import (
    deal_outcome,
    deal_source,
    lead_decision,
    parse_amount,
    parse_date,
    parse_datetime,
    parse_flag,
)

CONTACTS, DEALS = "contacts", "deals"
PROPERTIES = {
    CONTACTS: (
        "createdate",
        "hs_lifecyclestage_marketingqualifiedlead_date",
        "hs_lifecyclestage_salesqualifiedlead_date",
        "hs_lead_status",
        "hs_sa_first_engagement_date",
        "hubspot_owner_id",
    ),
    DEALS: (
        "createdate",
        "amount",
        "dealstage",
        "closedate",
        "hs_is_closed_won",
        "hs_is_closed",
        "hs_analytics_source",
        "hubspot_owner_id",
    ),
}
UTC_ZONE = ZoneInfo("UTC")


def _properties(obj: Mapping[str, Any]) -> dict[str, str]:
    return {
        key: str(value).strip()
        for key, value in (obj.get("properties") or {}).items()
        if value not in (None, "")
    }


def _instant(properties: dict[str, str], name: str):
    return parse_datetime(properties[name], None, UTC_ZONE) if name in properties else None


def lead_from_contact(obj: Mapping[str, Any], team_id: str) -> Lead:
    """Raises `BadValue` for a property HubSpot would not send (a malformed date)."""
    properties = _properties(obj)
    sql_at = _instant(properties, "hs_lifecyclestage_salesqualifiedlead_date")
    owner = properties.get("hubspot_owner_id")
    return Lead(
        record_id=str(obj["id"]),
        owner=opaque_owner(team_id, owner) if owner else None,
        created_at=_instant(properties, "createdate"),
        mql_at=_instant(properties, "hs_lifecyclestage_marketingqualifiedlead_date"),
        decision=lead_decision(properties.get("hs_lead_status", "")) or (ACCEPTED if sql_at else None),
        rejection_reason=None,
        sql_at=sql_at,
        first_touch_at=_instant(properties, "hs_sa_first_engagement_date"),
    )


def deal_from_hubspot(obj: Mapping[str, Any], team_id: str) -> Deal:
    properties = _properties(obj)
    owner, stage = properties.get("hubspot_owner_id"), properties.get("dealstage")
    outcome = deal_outcome(stage) if stage else None
    if "hs_is_closed_won" in properties and parse_flag(properties["hs_is_closed_won"]):
        outcome = WON
    elif "hs_is_closed" in properties and parse_flag(properties["hs_is_closed"]) and outcome is None:
        outcome = LOST
    return Deal(
        record_id=str(obj["id"]),
        owner=opaque_owner(team_id, owner) if owner else None,
        created_at=_instant(properties, "createdate"),
        amount=parse_amount(properties["amount"]) if "amount" in properties else None,
        stage=stage,
        close_date=parse_date(properties["closedate"], None) if "closedate" in properties else None,
        outcome=outcome,
        source=deal_source(properties["hs_analytics_source"])
        if "hs_analytics_source" in properties
        else None,
    )
