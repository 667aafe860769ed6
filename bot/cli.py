"""`alignbot`: serve the bot, manage its database, print its manifest, run the demo."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.runtime.logs import configure_logging, fatal_lines
from bot.runtime.settings import ConfigError, Settings

EXIT_CONFIG_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alignbot",
        description="A self-hosted Slack bot that helps sales and marketing align. "
        "Settings come from environment variables or a .env file (see the README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the bot (Socket Mode or HTTP)",
        description=(
            "Run the bot. Socket Mode needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN; HTTP mode needs "
            "SLACK_SIGNING_SECRET and either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET (many workspaces, installed at /slack/install), and serves /slack/events. "
            "Both serve /healthz, /readyz and /metrics."
        ),
    )
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument("--socket", action="store_true", help="connect to Slack over Socket Mode (the default)")
    mode.add_argument("--http", action="store_true", help="serve HTTP for Slack's requests")
    serve.add_argument("--host", default="0.0.0.0", help="interface to bind (default 0.0.0.0)")
    serve.add_argument(
        "--port",
        type=int,
        default=3000,
        help="port of /slack/events (HTTP mode) and /healthz, /readyz, /metrics (both modes; default 3000)",
    )

    database = commands.add_parser(
        "db", help="manage the database: schema, backup, restore", description="Manage the database."
    )
    database_commands = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    database_commands.add_parser("upgrade", help="apply all migrations (also done at start-up)")
    downgrade = database_commands.add_parser("downgrade", help="revert migrations")
    downgrade.add_argument(
        "revision", nargs="?", default="-1", help="target revision (default: one step back)"
    )
    database_commands.add_parser("current", help="print the schema revision in use")
    backup = database_commands.add_parser(
        "backup", help="write every table to a portable file (works while the bot runs)"
    )
    backup.add_argument("file", type=Path, help="where to write it, e.g. alignbot-2026-11-23.jsonl.gz")
    restore = database_commands.add_parser(
        "restore", help="load a backup into an empty database (SQLite or PostgreSQL)"
    )
    restore.add_argument("file", type=Path, help="a file written by `alignbot db backup`")

    manifest = commands.add_parser(
        "manifest",
        help="print the Slack app manifest (JSON)",
        description=(
            "Print the Slack app manifest declaring exactly what the bot uses. Paste it into "
            "'Create New App → From an app manifest'."
        ),
    )
    manifest.add_argument("--url", help="public HTTPS URL of /slack/events (HTTP mode)")
    manifest_mode = manifest.add_mutually_exclusive_group()
    manifest_mode.add_argument(
        "--socket", action="store_true", help="a manifest for Socket Mode (no request URLs)"
    )
    manifest_mode.add_argument(
        "--oauth",
        action="store_true",
        help="an app many workspaces install (HTTP mode): the redirect URL and uninstall events",
    )

    secrets = commands.add_parser(
        "secrets",
        help="the keys Slack tokens are stored encrypted with",
        description=(
            "Slack tokens are stored encrypted with ALIGNBOT_SECRET_KEYS: Fernet keys, newest first, "
            "separated by commas. To rotate: put a new key first, restart, run `secrets rotate`, then "
            "drop the old key."
        ),
    )
    secrets_commands = secrets.add_subparsers(dest="secrets_command", required=True, metavar="ACTION")
    secrets_commands.add_parser("new-key", help="print a new key")
    secrets_commands.add_parser(
        "rotate", help="encrypt every stored token with the first key (those stored unencrypted too)"
    )

    rollups = commands.add_parser(
        "rollups",
        help="the per-round rollups the digest reads",
        description=(
            "Every closed round is rolled up when it closes; the digest, the preview and the trend "
            "read the rollups, not the answers. `rebuild` writes them again from the answers."
        ),
    )
    rollups_commands = rollups.add_subparsers(dest="rollups_command", required=True, metavar="ACTION")
    rebuild = rollups_commands.add_parser("rebuild", help="write the rollups again from the stored answers")
    rebuild.add_argument("--workspace", metavar="TEAM_ID", help="one workspace (default: all)")

    pipeline = commands.add_parser(
        "pipeline", help="bring CRM pipeline figures in", description="Bring CRM pipeline figures in."
    )
    pipeline_commands = pipeline.add_subparsers(dest="pipeline_command", required=True, metavar="ACTION")
    pipeline_import = pipeline_commands.add_parser(
        "import",
        help="import a CSV export of leads, deals or forecasts (all of it, or nothing)",
        description="Import a Salesforce report or HubSpot export (CSV); the README lists the columns read.",
    )
    pipeline_import.add_argument("file", type=Path, help="the CSV file")
    pipeline_import.add_argument("--workspace", required=True, metavar="TEAM_ID", help="the Slack team id")
    pipeline_import.add_argument(
        "--kind", choices=("leads", "deals", "forecast"), help="default: told by the columns"
    )
    pipeline_import.add_argument(
        "--date-order", choices=("dmy", "mdy"), help="for dates like 3/4/2026: day first or month first"
    )
    pipeline_import.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=HEADER",
        help="the column holding FIELD (e.g. created_at='Created On'), for headers not recognised; "
        "remembered for files with the same columns",
    )

    demo = commands.add_parser(
        "demo",
        help="run the bot against the local Slack sandbox and show a transcript",
        description=(
            "Start the bot against the built-in Slack sandbox on a fresh SQLite database (no Slack "
            "credentials needed), play a short scenario as an admin and team members would, and print "
            "what each person saw."
        ),
    )
    demo.add_argument(
        "--output", default="demo-output", help="folder for the transcript (default demo-output)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.command == "secrets" and arguments.secrets_command == "new-key":
        from storage.secrets import SecretBox

        print(SecretBox.new_key())  # needs no settings: it is how a malformed key is replaced
        return 0
    settings = None
    try:
        settings = Settings()
        configure_logging(settings)
        return _run(arguments, settings)
    except ConfigError as error:
        for line in fatal_lines(str(error), settings, os.environ.get("LOG_FORMAT")):
            print(line, file=sys.stderr)
        return EXIT_CONFIG_ERROR


def _run(arguments: argparse.Namespace, settings: Settings) -> int:
    if arguments.command == "manifest":
        from bot.slack.manifest import manifest_json

        print(manifest_json(arguments.url, socket_mode=arguments.socket, oauth=arguments.oauth), end="")
        return 0
    if arguments.command == "db":
        return _database(arguments, settings)
    if arguments.command == "secrets":
        return _secrets(arguments, settings)
    if arguments.command == "pipeline":
        return _pipeline_import(arguments, settings)
    if arguments.command == "rollups":
        return _rebuild_rollups(arguments, settings)
    if arguments.command == "demo":
        from bot.sandbox.demo import run_demo

        return run_demo(arguments.output)
    return _serve(arguments, settings)


def _database(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime.startup import database_faults_explained
    from storage import migrate
    from storage.db import Database

    database = Database(settings.effective_database_url)
    try:
        if arguments.db_command in ("backup", "restore"):
            return _backup_or_restore(arguments, database)
        with database_faults_explained(settings):
            if arguments.db_command == "upgrade":
                migrate.upgrade(database.engine)
            elif arguments.db_command == "downgrade":
                migrate.downgrade(database.engine, arguments.revision)
            print(f"schema revision: {migrate.current_revision(database.engine) or 'empty'}")
    finally:
        database.dispose()
    return 0


def _secrets(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime.startup import database_faults_explained, open_secrets
    from storage import migrate
    from storage.db import Database
    from storage.models import Base
    from storage.secrets import rotate_all

    box = settings.secret_box
    if box is None:
        raise ConfigError("ALIGNBOT_SECRET_KEYS is not set: expected the keys, the new one first")
    database = Database(settings.effective_database_url)
    try:
        with database_faults_explained(settings):
            migrate.upgrade(database.engine)  # encrypted tokens need the columns of revision 0008
            open_secrets(settings, database)
            rotated = rotate_all(database.engine, Base.metadata.sorted_tables, box)
    finally:
        database.dispose()
    print(f"encrypted {rotated} stored tokens with the first key")
    return 0


def _backup_or_restore(arguments: argparse.Namespace, database) -> int:
    from storage.backup import BackupError, backup, restore

    action = backup if arguments.db_command == "backup" else restore
    try:
        counts = action(database, arguments.file)
    except (BackupError, OSError) as error:
        print(f"alignbot: {arguments.db_command} failed: {error}", file=sys.stderr)
        return 1
    verb = "wrote" if action is backup else "restored"
    print(f"{verb} {sum(counts.values())} rows in {len(counts)} tables ({arguments.file})")
    return 0


def _rebuild_rollups(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime.startup import database_faults_explained
    from storage import migrate, rollups
    from storage.db import Database

    database = Database(settings.effective_database_url)
    try:
        with database_faults_explained(settings):
            migrate.upgrade(database.engine)
            with database.session() as session:
                rounds, people = rollups.rebuild(session, arguments.workspace)
    finally:
        database.dispose()
    where = f"workspace {arguments.workspace}" if arguments.workspace else "every workspace"
    print(f"rolled up {rounds} closed rounds of {where} ({people} people's rows)")
    return 0


def _pipeline_import(arguments: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the file was imported (or changed nothing), 2 with the reasons on stderr when not."""
    from bot.domain.pipeline import Kind
    from bot.services.pipeline import PipelineService
    from bot.slack.pipeline_presenter import import_report_text
    from storage import migrate
    from storage.db import Database

    mapping = {}
    for pair in arguments.map:
        name, equals, header = pair.partition("=")
        if not (equals and name.strip() and header.strip()):
            print(f"alignbot: --map takes FIELD=HEADER, not {pair!r}", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        mapping[name.strip()] = header.strip()
    try:
        stream = arguments.file.open("rb")
    except OSError as error:
        print(f"alignbot: cannot read {arguments.file}: {error.strerror}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    database = Database(settings.effective_database_url)
    try:
        migrate.upgrade(database.engine)
        kind = Kind(arguments.kind) if arguments.kind else None
        with stream:
            report = PipelineService(database).import_file(
                arguments.workspace, stream, kind, arguments.date_order, mapping
            )
    finally:
        database.dispose()
    print(import_report_text(report), file=sys.stdout if report.imported else sys.stderr)
    return 0 if report.imported else EXIT_CONFIG_ERROR


def _serve(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime.process import BotRuntime

    _upgrade_apart(settings)
    runtime = BotRuntime(settings, host=arguments.host, port=arguments.port, socket_mode=not arguments.http)
    runtime.serve_forever()
    return 0


def _upgrade_apart(settings: Settings) -> None:
    """A schema behind head is upgraded by a child `alignbot db upgrade`, so that the server never
    imports Alembic (with Mako and Pygments, 8 MB it would hold as long as it runs). Whatever fails
    there, the server's own upgrade meets again and explains, as it did without the child."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage import migrate
    from storage.db import Database

    database = Database(settings.effective_database_url)
    try:
        behind = migrate.current_revision(database.engine) != migrate.head_revision()
    except (SQLAlchemyError, OSError):
        return  # explained by BotRuntime, which meets it too
    finally:
        database.dispose()
    if behind:
        upgrade = [sys.executable, "-m", "bot.cli", "db", "upgrade"]
        child = subprocess.run(upgrade, capture_output=True, text=True)
        if child.returncode == 0:
            print(child.stderr, end="", file=sys.stderr)  # its log lines (on failure, the server's own)


if __name__ == "__main__":
    sys.exit(main())
