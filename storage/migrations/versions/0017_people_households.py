"""people change over a year, the register's part (issue 24 item 4): households added and closed without
re-importing

- ``household.added_by`` (who added it outside a list; None: a list did), ``closed_on`` / ``closed_reason`` /
  ``closed_at`` / ``closed_by`` (the household left the programme: storage/register.py).

Revision ID: 0017_people_households
Revises: 0014_house_rules
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = "0017_people_households"
down_revision: str | None = "0014_house_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("household") as b:
        b.add_column(sa.Column("added_by", sa.String(length=100), nullable=True))
        b.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("closed_reason", sa.String(length=10), nullable=True))
        b.add_column(sa.Column("closed_at", storage.timestamps.UTCDateTime(), nullable=True))
        b.add_column(sa.Column("closed_by", sa.String(length=100), nullable=True))
        b.create_index(b.f("ix_household_closed_on"), ["closed_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("household") as b:
        b.drop_index(b.f("ix_household_closed_on"))
        b.drop_column("closed_by")
        b.drop_column("closed_at")
        b.drop_column("closed_reason")
        b.drop_column("closed_on")
        b.drop_column("added_by")
