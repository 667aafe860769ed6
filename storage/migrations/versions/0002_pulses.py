"""Pulses: cadences, rounds, deliveries, answers, comments, reminders, custom and disabled items.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "cadences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("audience_channels", sa.JSON(), nullable=False),
        sa.Column("recurrence_kind", sa.String(length=16), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("interval_weeks", sa.Integer(), nullable=False),
        sa.Column("nth", sa.Integer(), nullable=True),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("skip_dates", sa.JSON(), nullable=False),
        sa.Column("skip_weekends", sa.Boolean(), nullable=False),
        sa.Column("items_per_round", sa.Integer(), nullable=False),
        sa.Column("answer_window_hours", sa.Integer(), nullable=False),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("reminder_spacing_hours", sa.Integer(), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("include_guests", sa.Boolean(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("skip_occurrence", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seed", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["workspaces.team_id"],
            name=op.f("fk_cadences_team_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadences")),
        sa.UniqueConstraint("team_id", "name", name=op.f("uq_cadences_team_id")),
    )
    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cadences_team_id"), ["team_id"], unique=False)

    op.create_table(
        "custom_items",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("dimension", sa.String(length=32), nullable=False),
        sa.Column("text_en", sa.String(length=200), nullable=True),
        sa.Column("text_fa", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["workspaces.team_id"],
            name=op.f("fk_custom_items_team_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "item_id", name=op.f("pk_custom_items")),
    )
    op.create_table(
        "disabled_items",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["workspaces.team_id"],
            name=op.f("fk_disabled_items_team_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "item_id", name=op.f("pk_disabled_items")),
    )
    op.create_table(
        "pulse_rounds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("cadence_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_key", sa.String(length=64), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("skip_reason", sa.String(length=32), nullable=True),
        sa.Column("item_ids", sa.JSON(), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("audience_size", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cadence_id"],
            ["cadences.id"],
            name=op.f("fk_pulse_rounds_cadence_id_cadences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_rounds")),
        sa.UniqueConstraint("cadence_id", "occurrence_key", name=op.f("uq_pulse_rounds_cadence_id")),
    )
    with op.batch_alter_table("pulse_rounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pulse_rounds_team_id"), ["team_id"], unique=False)

    op.create_table(
        "pulse_answers",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=16), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["pulse_rounds.id"],
            name=op.f("fk_pulse_answers_round_id_pulse_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "item_id", "user_id", name=op.f("pk_pulse_answers")),
    )
    with op.batch_alter_table("pulse_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pulse_answers_team_id"), ["team_id"], unique=False)

    op.create_table(
        "pulse_channel_posts",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["pulse_rounds.id"],
            name=op.f("fk_pulse_channel_posts_round_id_pulse_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "channel_id", name=op.f("pk_pulse_channel_posts")),
    )
    op.create_table(
        "pulse_comments",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["pulse_rounds.id"],
            name=op.f("fk_pulse_comments_round_id_pulse_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "user_id", name=op.f("pk_pulse_comments")),
    )
    with op.batch_alter_table("pulse_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pulse_comments_team_id"), ["team_id"], unique=False)

    op.create_table(
        "pulse_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=16), nullable=True),
        sa.Column("needs_department", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_notice", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["pulse_rounds.id"],
            name=op.f("fk_pulse_deliveries_round_id_pulse_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_deliveries")),
        sa.UniqueConstraint("round_id", "user_id", name=op.f("uq_pulse_deliveries_round_id")),
    )
    with op.batch_alter_table("pulse_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_pulse_deliveries_status", ["status"], unique=False)

    op.create_table(
        "pulse_reminders",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["pulse_deliveries.id"],
            name=op.f("fk_pulse_reminders_delivery_id_pulse_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("delivery_id", "number", name=op.f("pk_pulse_reminders")),
    )
    with op.batch_alter_table("person_preferences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=16), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("person_preferences", schema=None) as batch_op:
        batch_op.drop_column("department")

    op.drop_table("pulse_reminders")
    with op.batch_alter_table("pulse_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_pulse_deliveries_status")

    op.drop_table("pulse_deliveries")
    with op.batch_alter_table("pulse_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pulse_comments_team_id"))

    op.drop_table("pulse_comments")
    op.drop_table("pulse_channel_posts")
    with op.batch_alter_table("pulse_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pulse_answers_team_id"))

    op.drop_table("pulse_answers")
    with op.batch_alter_table("pulse_rounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pulse_rounds_team_id"))

    op.drop_table("pulse_rounds")
    op.drop_table("disabled_items")
    op.drop_table("custom_items")
    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cadences_team_id"))

    op.drop_table("cadences")
