"""Digests: schedule and settings, one digest per workspace and week, where each went, nudge states.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("team_id", "week", name=op.f("uq_digests_team_id")),
    )
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digests_team_id"), ["team_id"], unique=False)

    op.create_table(
        "digest_posts",
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("file_id", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["digest_id"], ["digests.id"], name=op.f("fk_digest_posts_digest_id_digests"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("digest_id", "destination", name=op.f("pk_digest_posts")),
    )
    op.create_table(
        "digest_settings",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("to_channel", sa.Boolean(), nullable=False),
        sa.Column("leaders", sa.JSON(), nullable=False),
        sa.Column("window_weeks", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("planned_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["workspaces.team_id"],
            name=op.f("fk_digest_settings_team_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_digest_settings")),
    )
    op.create_table(
        "nudge_states",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["workspaces.team_id"],
            name=op.f("fk_nudge_states_team_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "key", name=op.f("pk_nudge_states")),
    )


def downgrade() -> None:

    op.drop_table("nudge_states")
    op.drop_table("digest_settings")
    op.drop_table("digest_posts")
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digests_team_id"))

    op.drop_table("digests")
