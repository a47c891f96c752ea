"""people change over a year (issue 24 items 1–3): a cadre retires, a request is handed over with its household

- ``cadre.retired_on``: the first day a retired cadre (``active`` false) no longer serves (storage/cadres.py
  ``retire``); reports count their days before it and leave them out of periods that start after it.
- ``villager_request.handed_over_at``: an unanswered request handed to the household's new cadre
  (storage/handover.py): when it reached its present cadre, whose time limit runs from then.

Revision ID: 0016_people_cadres
Revises: 0014_house_rules
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = "0016_people_cadres"
down_revision: str | None = "0014_house_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cadre", schema=None) as b:
        b.add_column(sa.Column("retired_on", sa.Date(), nullable=True))
    with op.batch_alter_table("villager_request", schema=None) as b:
        b.add_column(sa.Column("handed_over_at", storage.timestamps.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("villager_request", schema=None) as b:
        b.drop_column("handed_over_at")
    with op.batch_alter_table("cadre", schema=None) as b:
        b.drop_column("retired_on")
