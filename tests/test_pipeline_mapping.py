"""The mapping step end to end: a file whose headers are not recognised is mapped once, through the
button in the report and the modal it opens (from the DM and from the import modal), or with `--map`
on the command line; the choice is remembered, so the next file with the same columns imports directly."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain.pipeline_mapping import fingerprint
from bot.sandbox.workspace import OWNER
from storage.models import PipelineDeal, PipelineLead, PipelineMapping
from tests.conversation import Person, set_up_workspace
from tests.processes import alignbot
from tests.test_pipeline_import import PIPELINE_TABLES, pipeline_rows, share_in_dm

HEADER = "Contact Number,Created On,MQL On,Verdict,Why Rejected"
LEADS = (
    f"{HEADER}\n"
    "C1,2026-03-02 09:00,2026-03-03 10:00,Qualified,\n"
    "C2,2026-03-02 09:30,2026-03-03 11:00,Unqualified,No budget\n"
    "C3,2026-03-04 09:00,,,\n"
).encode()
DEALS = (
    "Opportunity Number,Deal Value,Closing Date,Result\n"
    'O1,"€12,500",2026-03-10,Closed Won\n'
    "O2,8000,2026-03-11,Closed Lost\n"
).encode()


def options_chosen(modal: dict) -> dict[str, str]:
    """Block id → the text of the option each select starts with."""
    return {
        block["block_id"]: block["element"]["initial_option"]["text"]["text"]
        for block in modal["blocks"]
        if block["type"] == "input" and "initial_option" in block["element"]
    }


def test_a_file_with_unknown_columns_shared_in_the_dm_is_mapped_once_and_then_recognised(
    bot, driver, sandbox
):
    set_up_workspace(bot, driver)
    owner = Person(OWNER, bot, driver)
    [reply] = share_in_dm(bot, driver, sandbox, OWNER, "crm.csv", LEADS)
    assert reply == (
        "Nothing was imported yet: I don't know which columns of this file hold the record id, created date"
        " of these leads. Its columns are: Contact Number, Created On, MQL On, Verdict, Why Rejected."
        " Map them once and I'll remember it for files with the same columns."
    )
    assert pipeline_rows(bot) == dict.fromkeys(PIPELINE_TABLES, 0)
    report = sandbox.ephemerals_to(OWNER)[-1]
    assert owner.taps("pipeline_map", on={"blocks": report.blocks}) == []
    modal = sandbox.latest_view_for(OWNER).view
    assert modal["callback_id"] == "pipeline_mapping"
    selects = [b for b in modal["blocks"] if b["type"] == "input" and b["block_id"] != "date_order"]
    assert [b["block_id"] for b in selects][:2] == ["record_id", "created_at"]
    assert [b.get("optional", False) for b in selects][:3] == [False, False, True]
    assert [o["text"]["text"] for o in selects[0]["element"]["options"]] == HEADER.split(",")
    assert options_chosen(modal) == {"created_at": "Created On", "mql_at": "MQL On"}

    assert (
        owner.submits("pipeline_mapping", {"record_id": "0", "status": "3", "rejection_reason": "4"}) is None
    )
    assert sandbox.ephemerals_to(OWNER)[-1].text == "Imported 3 leads: 3 new, 0 updated, 0 unchanged."
    with bot.database.session() as session:
        leads = session.scalars(select(PipelineLead).order_by(PipelineLead.record_id)).all()
        [remembered] = session.scalars(select(PipelineMapping)).all()
    assert [(lead.record_id, lead.decision, lead.rejection_reason) for lead in leads] == [
        ("C1", "accepted", None),
        ("C2", "rejected", "No budget"),
        ("C3", None, None),
    ]
    assert leads[0].mql_at is not None and leads[2].mql_at is None
    assert (remembered.team_id, remembered.kind) == (sandbox.workspace.team_id, "leads")
    assert remembered.fingerprint == fingerprint(HEADER.split(","))
    assert remembered.columns == {
        "record_id": "Contact Number",
        "created_at": "Created On",
        "mql_at": "MQL On",
        "status": "Verdict",
        "rejection_reason": "Why Rejected",
    }

    more = LEADS + b"C4,2026-03-05 09:00,2026-03-05 12:00,Qualified,\n"
    assert share_in_dm(bot, driver, sandbox, OWNER, "crm next week.csv", more) == [
        "Imported 4 leads: 1 new, 0 updated, 3 unchanged."
    ]
    assert pipeline_rows(bot)["pipeline_leads"] == 4


def test_the_import_modal_offers_the_mapping_step_and_a_column_is_chosen_once(bot, driver, sandbox):
    set_up_workspace(bot, driver)
    owner = Person(OWNER, bot, driver)
    owner.opens("/align pipeline import")
    file = sandbox.share_file(OWNER, "opportunities.csv", DEALS)
    assert owner.submits("pipeline_import", {"file": [file], "kind": "deals"}) is None
    report = sandbox.ephemerals_to(OWNER)[-1]
    assert report.text.startswith(
        "Nothing was imported yet: I don't know which columns of this file hold the record id, amount of"
        " these deals."
    )
    owner.taps("pipeline_map", on={"blocks": report.blocks})
    modal = sandbox.latest_view_for(OWNER).view
    assert options_chosen(modal) == {"close_date": "Closing Date"}
    errors = owner.submits("pipeline_mapping", {"record_id": "0", "amount": "0", "stage": "3"})
    assert errors == {
        "response_action": "errors",
        "errors": {"amount": "This column is chosen for another field already: choose each column once."},
    }
    assert pipeline_rows(bot) == dict.fromkeys(PIPELINE_TABLES, 0)
    assert owner.submits("pipeline_mapping", {"record_id": "0", "amount": "1", "stage": "3"}) is None
    assert sandbox.ephemerals_to(OWNER)[-1].text == "Imported 2 deals: 2 new, 0 updated, 0 unchanged."
    with bot.database.session() as session:
        deals = session.scalars(select(PipelineDeal).order_by(PipelineDeal.record_id)).all()
    assert [(d.record_id, d.amount_cents, d.outcome, str(d.close_date)) for d in deals] == [
        ("O1", 1250000, "won", "2026-03-10"),
        ("O2", 800000, "lost", "2026-03-11"),
    ]


def test_the_command_line_maps_with_map_and_remembers_it(bot, driver, sandbox, database_url, tmp_path):
    set_up_workspace(bot, driver)
    team = ["--workspace", sandbox.workspace.team_id]
    env = {"DATABASE_URL": database_url}
    leads = tmp_path / "crm.csv"
    leads.write_bytes(LEADS)
    asked = alignbot("pipeline", "import", str(leads), *team, cwd=tmp_path, env=env)
    assert asked.returncode == 2 and "Traceback" not in asked.stderr
    assert asked.stderr.strip().splitlines()[1:] == [
        "Name them with `--map FIELD=HEADER` (remembered for files with the same columns). Fields of leads:"
        " record_id, created_at, owner, mql_at, status, rejection_reason, sql_at, first_touch_at;"
        " needed: record_id, created_at.",
        'The closest columns: --map created_at="Created On" --map mql_at="MQL On"',
    ]
    wrong = alignbot(
        "pipeline", "import", str(leads), *team, "--map", "record_id=Contact No", cwd=tmp_path, env=env
    )
    assert wrong.returncode == 2
    assert "no column is called `Contact No` (given for record id)." in wrong.stderr
    mapped = [
        "--map",
        "record_id=Contact Number",
        "--map",
        "created_at=Created On",
        "--map",
        "status=Verdict",
    ]
    imported = alignbot("pipeline", "import", str(leads), *team, *mapped, cwd=tmp_path, env=env)
    assert (imported.returncode, imported.stdout.strip()) == (
        0,
        "Imported 3 leads: 3 new, 0 updated, 0 unchanged.",
    )
    again = alignbot("pipeline", "import", str(leads), *team, cwd=tmp_path, env=env)
    assert (again.returncode, again.stdout.strip()) == (
        0,
        "Nothing changed: the 3 leads in the file are already here, as they are.",
    )
    with bot.database.session() as session:
        [remembered] = session.scalars(select(PipelineMapping)).all()
    assert remembered.columns == {
        "record_id": "Contact Number",
        "created_at": "Created On",
        "status": "Verdict",
    }
