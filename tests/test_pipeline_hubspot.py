"""HubSpot connected in Slack and synced daily through CRM v3 against the sandbox's stand-in: pages
followed across a boundary, a 429 waited out, a refused token not kept."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.sandbox.hubspot import HubSpotSandbox
from bot.sandbox.workspace import OWNER
from storage.models import PipelineConnection, PipelineDeal, PipelineLead
from tests.conversation import Person, set_up_workspace


@pytest.fixture
def hubspot() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox() as running:
        for n in range(150):
            running.add(
                "contacts",
                str(1000 + n),
                createdate="2026-02-02T09:00:00.000Z",
                hs_lifecyclestage_marketingqualifiedlead_date="2026-02-03T10:00:00.000Z",
                hs_lead_status="UNQUALIFIED" if n % 3 == 0 else "IN_PROGRESS",
                hubspot_owner_id=str(70 + n % 5),
                firstname=f"Person {n}",
            )
        running.add(
            "deals",
            "9001",
            amount="12500.5",
            dealstage="closedwon",
            closedate="2026-02-20T00:00:00Z",
            hs_is_closed_won="true",
            hs_analytics_source="ORGANIC_SEARCH",
            hubspot_owner_id="70",
        )
        running.add(
            "deals",
            "9002",
            amount="8000",
            dealstage="closedlost",
            closedate="2026-02-21T00:00:00Z",
            hs_is_closed_won="false",
            hs_is_closed="true",
            hs_analytics_source="OFFLINE",
        )
        running.add("deals", "9003", amount="", dealstage="appointmentscheduled")
        yield running


@pytest.fixture
def settings(settings, hubspot):
    return replace(settings, hubspot_api_url=hubspot.url)


def count(bot, model) -> int:
    with bot.database.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_hubspot_connected_and_synced_across_a_page_boundary_and_a_429(bot, driver, sandbox, hubspot, clock):
    set_up_workspace(bot, driver)
    waits: list[float] = []
    bot.pipeline_sync.sleep = waits.append
    hubspot.fail_request(3, 429, retry_after="2")  # the second page of contacts: asked again after 2 s
    owner = Person(OWNER, bot, driver)
    owner.opens("/align pipeline connect hubspot")
    assert owner.submits("pipeline_hubspot", {"token": hubspot.token}) is None
    assert sandbox.ephemerals_to(OWNER)[-1].text == (
        "HubSpot is connected: 150 contacts and 3 deals synced. They are synced again every day."
    )
    seen = [(r.path.rsplit("/", 1)[1], r.query.get("after"), r.status) for r in hubspot.requests]
    assert seen == [
        ("contacts", None, 200),  # the token checked
        ("contacts", None, 200),
        ("contacts", "100", 429),
        ("contacts", "100", 200),
        ("deals", None, 200),
    ]
    assert 2.0 in waits and all(r.query.get("limit") in ("1", "100") for r in hubspot.requests)
    assert "firstname" not in hubspot.requests[1].query["properties"]  # names are never asked for
    assert (count(bot, PipelineLead), count(bot, PipelineDeal)) == (150, 3)
    with bot.database.session() as session:
        rejected = session.scalar(select(func.count()).where(PipelineLead.decision == "rejected"))
        won = session.scalars(select(PipelineDeal).where(PipelineDeal.record_id == "9001")).one()
    assert rejected == 50 and (won.outcome, won.source, won.amount_cents) == ("won", "marketing", 1250050)

    # A day later the daily sync picks up what changed in HubSpot, and only then.
    hubspot.objects["contacts"][1]["properties"]["hs_lead_status"] = "UNQUALIFIED"
    assert bot.pipeline_sync.run_due() == {}
    clock.set(clock.now() + timedelta(days=1))
    report = bot.pipeline_sync.run_due()[sandbox.workspace.team_id]
    assert (report.leads, report.deals, report.error) == (150, 3, None)
    with bot.database.session() as session:
        assert session.scalar(select(func.count()).where(PipelineLead.decision == "rejected")) == 51


def test_a_token_hubspot_refuses_is_not_kept(bot, driver, sandbox, hubspot):
    set_up_workspace(bot, driver)
    owner = Person(OWNER, bot, driver)
    owner.opens("/align pipeline connect hubspot")
    assert owner.submits("pipeline_hubspot", {"token": "pat-eu1-not-the-token"}) is None
    assert sandbox.ephemerals_to(OWNER)[-1].text == (
        "HubSpot is not synced: HubSpot does not accept this token. Nothing was imported."
    )
    assert count(bot, PipelineConnection) == 0 and count(bot, PipelineLead) == 0
    assert [r.status for r in hubspot.requests] == [401]


def test_a_sync_failing_midway_stores_nothing(bot, driver, sandbox, hubspot, clock):
    set_up_workspace(bot, driver)
    bot.pipeline_sync.sleep = lambda seconds: None
    for number in range(3, 3 + 5):  # the second page of contacts fails every time it is asked
        hubspot.fail_request(number, 503)
    owner = Person(OWNER, bot, driver)
    owner.opens("/align pipeline connect hubspot")
    owner.submits("pipeline_hubspot", {"token": hubspot.token})
    assert "HubSpot is not answering properly" in sandbox.ephemerals_to(OWNER)[-1].text
    assert count(bot, PipelineLead) == 0 and count(bot, PipelineConnection) == 1
