"""one home for each rule (issue 23): numbers drawn from a counter row

- ``number_counter``: the next 督办卡号 (``task``) and 诉求号 (``villager_request``), one row each
  (storage/numbering.py); each starts after the largest number already issued, so no number is issued twice.

Revision ID: 0014_house_rules
Revises: 0013_push_edges
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_house_rules"
down_revision: str | None = "0013_push_edges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "number_counter",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_number_counter")),
    )
    for name in ("task", "villager_request"):
        op.execute(
            f"INSERT INTO number_counter (name, next_value) SELECT '{name}', COALESCE(MAX(number), 0) + 1 FROM {name}"
        )


def downgrade() -> None:
    op.drop_table("number_counter")
