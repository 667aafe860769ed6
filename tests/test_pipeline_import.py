"""CRM exports brought in end to end: through the import modal, a file shared in the bot's DM, and the
command line; bad files explained with their lines and nothing stored; a re-import changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.sandbox.workspace import OWNER, SALESPEOPLE
from storage.models import PipelineDeal, PipelineForecast, PipelineLead
from tests.conversation import Person, row_counts, set_up_workspace, text_of
from tests.processes import REPO, alignbot

EXAMPLES = REPO / "docs" / "pipeline-examples"
LEADS = (EXAMPLES / "hubspot-contacts.csv").read_bytes()
DEALS = (EXAMPLES / "salesforce-opportunities.csv").read_bytes()
PIPELINE_TABLES = ("pipeline_leads", "pipeline_deals", "pipeline_forecasts")


def share_in_dm(bot, driver, sandbox, user_id: str, name: str, content: bytes) -> list[str]:
    """`user_id` drops a file into their DM with the bot; the ephemeral replies they then saw there."""
    dm = sandbox.dm_channel_for(user_id)
    before = len(sandbox.ephemerals_to(user_id))
    file = sandbox.share_file(user_id, name, content, channel_id=dm)
    response = driver.event(
        {"type": "file_shared", "file_id": file["id"], "user_id": user_id, "channel_id": dm}
    )
    assert response.status == 200
    assert bot.wait_idle()
    return [e.text for e in sandbox.ephemerals_to(user_id)[before:]]


def pipeline_rows(bot) -> dict[str, int]:
    counts = row_counts(bot)
    return {table: counts[table] for table in PIPELINE_TABLES}


def test_a_deal_report_imported_through_the_modal(bot, driver, sandbox):
    set_up_workspace(bot, driver)
    owner = Person(OWNER, bot, driver)
    modal = owner.opens("/align pipeline import")
    assert [b["element"]["type"] for b in modal["blocks"] if b["type"] == "input"][0] == "file_input"
    file = sandbox.share_file(OWNER, "opportunities.csv", DEALS)
    assert owner.submits("pipeline_import", {"file": [file]}) is None
    [reply] = [e.text for e in sandbox.ephemerals_to(OWNER)]
    assert reply == (
        "Imported 5 deals: 5 new, 0 updated, 0 unchanged. Skipped: 0 repeated rows and 4 empty ones."
    )
    with bot.database.session() as session:
        deals = session.scalars(select(PipelineDeal).order_by(PipelineDeal.record_id)).all()
    assert [(d.amount_cents, d.outcome, d.source) for d in deals][:2] == [
        (1250000, "won", "marketing"),
        (800000, "lost", "sales"),
    ]
    stored = repr([vars(d) for d in deals])
    assert "Reza" not in stored and "0055g0000011111" not in stored  # no owner name, no CRM owner id


def test_a_csv_shared_in_the_dm_is_imported_and_again_changes_nothing(bot, driver, sandbox):
    set_up_workspace(bot, driver)
    assert share_in_dm(bot, driver, sandbox, OWNER, "contacts.csv", LEADS) == [
        "Imported 8 leads: 8 new, 0 updated, 0 unchanged."
    ]
    assert share_in_dm(bot, driver, sandbox, OWNER, "contacts again.csv", LEADS) == [
        "Nothing changed: the 8 leads in the file are already here, as they are."
    ]
    changed = LEADS.replace(
        b"105,Lena,Weber,2026-01-19 10:10,2026-01-20 09:00,In Progress,,",
        b"105,Lena,Weber,2026-01-19 10:10,2026-01-20 09:00,Unqualified,Too small,",
    )
    assert share_in_dm(bot, driver, sandbox, OWNER, "contacts.csv", changed) == [
        "Imported 8 leads: 0 new, 1 updated, 7 unchanged."
    ]
    with bot.database.session() as session:
        lena = session.scalars(select(PipelineLead).where(PipelineLead.record_id == "105")).one()
    assert (lena.decision, lena.rejection_reason) == ("rejected", "Too small")
    assert pipeline_rows(bot) == {"pipeline_leads": 8, "pipeline_deals": 0, "pipeline_forecasts": 0}


def test_a_bad_file_is_explained_line_by_line_and_nothing_of_it_is_stored(bot, driver, sandbox):
    set_up_workspace(bot, driver)
    bad = LEADS.replace(b"2026-01-12 14:05", b"2026-13-12").replace(b"\n106,", b"\n,")
    [reply] = share_in_dm(bot, driver, sandbox, OWNER, "contacts.csv", bad)
    assert reply.startswith("Nothing was imported. Problems found in the file: 2.")
    assert "Line 4, *Create Date*: `2026-13-12` is not a date I can read." in reply
    assert "Line 7, *Record ID*: the row has no id." in reply
    [question] = share_in_dm(bot, driver, sandbox, OWNER, "leads.csv", b"Lead ID,Created Date\nL1,3/4/2026\n")
    assert (
        "could put the day or the month first" in question and "choose the date order in the form" in question
    )
    assert pipeline_rows(bot) == dict.fromkeys(PIPELINE_TABLES, 0)


def test_only_admins_import_and_the_bots_own_files_are_left_alone(bot, driver, sandbox):
    set_up_workspace(bot, driver)
    [reply] = share_in_dm(bot, driver, sandbox, SALESPEOPLE[0], "contacts.csv", LEADS)
    assert "admin" in reply.lower()
    own = sandbox.share_file(
        sandbox.workspace.bot_user_id, "export.csv", LEADS, channel_id=sandbox.dm_channel_for(OWNER)
    )
    driver.event(
        {
            "type": "file_shared",
            "file_id": own["id"],
            "user_id": sandbox.workspace.bot_user_id,
            "channel_id": sandbox.dm_channel_for(OWNER),
        }
    )
    assert bot.wait_idle()
    assert pipeline_rows(bot) == dict.fromkeys(PIPELINE_TABLES, 0)
    assert "Imported" not in text_of({"blocks": [e.blocks for e in sandbox.ephemerals]})


def test_the_command_line_imports_asks_and_refuses_with_exit_code_2(
    bot, driver, sandbox, database_url, tmp_path
):
    set_up_workspace(bot, driver)
    team = ["--workspace", sandbox.workspace.team_id]
    env = {"DATABASE_URL": database_url}
    forecast = tmp_path / "forecast.tsv"
    forecast.write_text(
        "Quarter\tForecast\tActual\nQ1 2026\t100\t94\n2026-Q2\t3/4/2026\t\n", encoding="utf-16"
    )
    refused = alignbot("pipeline", "import", str(forecast), *team, cwd=tmp_path, env=env)
    assert refused.returncode == 2 and refused.stdout == "" and "Traceback" not in refused.stderr
    assert (
        refused.stderr.strip() == "Nothing was imported. Problems found in the file: 1.\n"
        "• Line 3, *Forecast*: `3/4/2026` is not an amount."
    )
    forecast.write_text("Quarter\tForecast\tActual\nQ1 2026\t100\t94\n2026-Q2\t120\t\n", encoding="utf-16")
    imported = alignbot(
        "pipeline", "import", str(forecast), *team, "--kind", "forecast", cwd=tmp_path, env=env
    )
    assert (imported.returncode, imported.stdout.strip()) == (
        0,
        "Imported 2 forecast periods: 2 new, 0 updated, 0 unchanged.",
    )
    with bot.database.session() as session:
        periods = session.scalars(select(PipelineForecast).order_by(PipelineForecast.period)).all()
    assert [(p.period, p.forecast_cents, p.actual_cents) for p in periods] == [
        ("2026-Q1", 10000, 9400),
        ("2026-Q2", 12000, None),
    ]
    missing = alignbot("pipeline", "import", str(tmp_path / "nope.csv"), *team, cwd=tmp_path, env=env)
    assert (
        missing.returncode == 2
        and missing.stderr.startswith("alignbot: cannot read")
        and "Traceback" not in missing.stderr
    )
