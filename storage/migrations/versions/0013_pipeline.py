"""The CRM pipeline beside the perception: leads, deals and forecasts, each by workspace and record id.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _common(table: str) -> list:
    return [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["workspaces.team_id"],
            name=op.f(f"fk_{table}_team_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "pipeline_leads",
        *_common("pipeline_leads"),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mql_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("sql_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_touch_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("team_id", "record_id", name=op.f("uq_pipeline_leads_team_id")),
    )
    op.create_table(
        "pipeline_deals",
        *_common("pipeline_deals"),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("stage", sa.String(length=255), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=True),
        sa.UniqueConstraint("team_id", "record_id", name=op.f("uq_pipeline_deals_team_id")),
    )
    op.create_table(
        "pipeline_forecasts",
        *_common("pipeline_forecasts"),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("forecast_cents", sa.BigInteger(), nullable=False),
        sa.Column("actual_cents", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("team_id", "period", name=op.f("uq_pipeline_forecasts_team_id")),
    )

    op.create_table(
        "pipeline_connections",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("connected_by", sa.String(length=32), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["workspaces.team_id"],
            name=op.f("fk_pipeline_connections_team_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_pipeline_connections")),
    )


def downgrade() -> None:
    op.drop_table("pipeline_connections")
    op.drop_table("pipeline_forecasts")
    op.drop_table("pipeline_deals")
    op.drop_table("pipeline_leads")
