"""`撤销` right after `小结` undoes the 小结 (issue 25 item 9)

- ``monthly_summary.previous``: what a 小结 replaced (text, submitted_at, submitted_day, on_time), kept so that a
  `撤销` within 10 minutes puts it back; None: the 小结 was the month's first (撤销 removes it). Existing rows get
  None (nothing to restore: they are older than any undo window).

Revision ID: 0019_console_layout
Revises: 0020_station_transfer
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019_console_layout"
down_revision: str | None = "0020_station_transfer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("monthly_summary") as batch:
        batch.add_column(
            sa.Column(
                "previous",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("monthly_summary") as batch:
        batch.drop_column("previous")
