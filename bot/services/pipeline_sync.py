"""The daily HubSpot sync: contacts and deals through HubSpot's CRM v3 API, paged (`paging.next.after`),
paced under its limit of 100 requests per 10 seconds, waiting out a 429; then stored all at once, by
record id, like an import."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from bot.domain.pipeline import Kind
from bot.domain.pipeline_hubspot import CONTACTS, DEALS, PROPERTIES, deal_from_hubspot, lead_from_contact
from bot.domain.pipeline_values import BadValue
from storage import pipeline as store
from storage.db import Database

logger = logging.getLogger(__name__)

HUBSPOT = "hubspot"
PAGE_SIZE = 100
MIN_INTERVAL = 0.11
"""Seconds between two requests: at most 91 in 10 seconds, under HubSpot's 100."""
MAX_TRIES = 5


class HubSpotError(Exception):
    """HubSpot refused for good: `code` is `invalid_token`, `forbidden`, `http_<status>`, `rate_limited`
    (429s, however long it waited), `unavailable` (5xx) or `unreachable`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class HubSpotClient:
    base_url: str
    token: str
    sleep: Callable[[float], None] = time.sleep
    _last_request: float = 0.0

    def objects(self, object_type: str) -> Iterator[dict[str, Any]]:
        """Every object of `object_type`, page after page."""
        after: str | None = None
        while True:
            query = {"limit": PAGE_SIZE, "properties": ",".join(PROPERTIES[object_type]), "archived": "false"}
            if after:
                query["after"] = after
            page = self._get(f"/crm/v3/objects/{object_type}?{urlencode(query)}")
            yield from page.get("results") or []
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def check(self) -> None:
        """Raise `HubSpotError` unless the token may read contacts."""
        self._get(f"/crm/v3/objects/{CONTACTS}?limit=1")

    def _get(self, path: str) -> dict[str, Any]:
        refused = 0
        for attempt in range(MAX_TRIES):
            wait = self._last_request + MIN_INTERVAL - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last_request = time.monotonic()
            request = urllib.request.Request(
                self.base_url + path,
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return json.load(response)
            except urllib.error.HTTPError as error:
                if error.code == 429 or error.code >= 500:
                    refused = error.code
                    retry_after = error.headers.get("Retry-After")
                    self.sleep(float(retry_after) if retry_after else 2.0**attempt)
                    continue
                raise HubSpotError(
                    {401: "invalid_token", 403: "forbidden"}.get(error.code, f"http_{error.code}")
                ) from None
            except (OSError, ValueError):
                if attempt == MAX_TRIES - 1:
                    raise HubSpotError("unreachable") from None
                self.sleep(2.0**attempt)
        raise HubSpotError("rate_limited" if refused == 429 else "unavailable")


@dataclass(frozen=True)
class SyncReport:
    leads: int = 0
    deals: int = 0
    error: str | None = None


def sync(database: Database, team_id: str, client: HubSpotClient) -> SyncReport:
    """Read every contact and deal, then store them in one transaction (nothing if anything failed)."""
    try:
        leads = [lead_from_contact(obj, team_id) for obj in client.objects(CONTACTS)]
        deals = [deal_from_hubspot(obj, team_id) for obj in client.objects(DEALS)]
    except HubSpotError as error:
        return SyncReport(error=error.code)
    except (BadValue, KeyError):
        return SyncReport(error="unexpected_data")
    with database.session() as session:
        store.write(session, team_id, Kind.LEADS, leads)
        store.write(session, team_id, Kind.DEALS, deals)
    return SyncReport(len(leads), len(deals))


def connect_hubspot(
    database: Database, team_id: str, token: str, by: str, now: datetime, client: HubSpotClient
) -> SyncReport:
    """Check the token, keep it, and sync at once; the token is not kept if HubSpot refuses it."""
    try:
        client.check()
    except HubSpotError as error:
        return SyncReport(error=error.code)
    with database.session() as session:
        store.store_crm_token(session, team_id, HUBSPOT, token, by, now)
    report = sync(database, team_id, client)
    with database.session() as session:
        store.mark_synced(session, team_id, now, report.error)
    return report
