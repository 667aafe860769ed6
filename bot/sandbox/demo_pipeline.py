"""The demo's CRM exports: a HubSpot contacts export, a Salesforce opportunity report and a forecast,
made up but shaped like the real ones, over the demo's months (January to the end of May 2026)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

FIRST_WEEK = date(2026, 1, 5)
WEEKS = 21
OWNERS = tuple(f"51{n:02d}" for n in range(8))
REASONS = ("No budget", "Wrong industry", "Too small", "No budget", "Student or job seeker")
MARKETING_SOURCES = ("Web", "Webinar", "Advertisement", "Trade Show")
SALES_SOURCES = ("Cold Call", "Partner Referral", "Employee Referral")


def hubspot_contacts() -> str:
    """About seven MQLs a week; sales accepts more of them, and sooner, as the weeks go by."""
    rng = random.Random("demo-pipeline-leads")
    lines = [
        "Record ID,First Name,Create Date,Became a Marketing Qualified Lead Date,Lead Status,"
        "Rejection Reason,Became a Sales Qualified Lead Date,First Engagement Date,"
        "Contact owner,HubSpot Owner ID"
    ]
    for week in range(WEEKS):
        for n in range(rng.randint(6, 8)):
            record = 20000 + week * 10 + n
            mql = datetime.combine(
                FIRST_WEEK + timedelta(days=7 * week + n % 5), datetime.min.time()
            ).replace(hour=9 + n)
            owner = OWNERS[(week + n) % len(OWNERS)]
            touch = mql + timedelta(hours=rng.uniform(2, 40 - week))
            if rng.random() < 0.3 - week * 0.008:
                status, reason, sql = "Unqualified", REASONS[(week + n) % len(REASONS)], ""
            elif rng.random() < 0.45 + week * 0.015:
                status, reason, sql = "Qualified", "", (mql + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
            else:
                status, reason, sql = "In Progress", "", ""
            created = mql - timedelta(days=1)
            lines.append(
                f"{record},Person {record},{created:%Y-%m-%d %H:%M},{mql:%Y-%m-%d %H:%M},{status},{reason},"
                f"{sql},{touch:%Y-%m-%d %H:%M},Rep {owner},{owner}"
            )
    return "\n".join(lines) + "\n"


def salesforce_opportunities() -> str:
    """Deals closing from January to May, in US date order, with Salesforce's footer."""
    rng = random.Random("demo-pipeline-deals")
    lines = [
        '"Opportunity ID","Opportunity Name","Owner ID","Created Date","Amount","Stage","Close Date",'
        '"Lead Source"'
    ]
    for n in range(40):
        closes = FIRST_WEEK + timedelta(days=3 * n + rng.randint(0, 2))
        marketing = rng.random() < 0.55
        source = rng.choice(MARKETING_SOURCES if marketing else SALES_SOURCES)
        stage = "Closed Won" if rng.random() < 0.6 else "Closed Lost"
        amount = rng.randrange(2000, 30000, 250)
        created = closes - timedelta(days=40)
        lines.append(
            f'"0065g0000D{n:05d}","Deal {n}","0055g00000{OWNERS[n % len(OWNERS)]}","{created:%-m/%-d/%Y}",'
            f'"${amount:,}.00","{stage}","{closes:%-m/%-d/%Y}","{source}"'
        )
    lines += [
        "",
        '"Grand Totals (40 records)"',
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."',
    ]
    return "\n".join(lines) + "\n"


FORECAST = (
    "Quarter;Forecast;Actual\nQ4 2025;120.000 €;104.500 €\nQ1 2026;150.000 €;141.000 €\nQ2 2026;160.000 €;\n"
)
