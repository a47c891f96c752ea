"""the station's work (issue 26 items 2 and 4): disputes, the 动员会 register, 单位办点, 好经验好做法

- ``dispute`` (one per villager request marked a dispute, its mediator and outcome), ``dispute_party`` (the
  households in it), ``dispute_step`` (dated mediation notes): storage/disputes.py.
- ``village_meeting`` and ``village_meeting_cadre``: a village's 动员会 register (date, title, the cadres who came,
  a count of villagers) and when its notice was queued: storage/meetings.py.
- ``village.station_unit``: the stationed unit that runs the village's demonstration point (单位办点), set by the
  office and shown on the public listing: storage/station_units.py.
- ``good_practice``: 好经验好做法 the office collects, shown with the year's commendations: storage/practices.py.

New tables and one nullable column: nothing existing is rewritten. Downgrade drops them (the register, the
disputes and the practices are lost; the requests themselves keep their category as marked).

Revision ID: 0021_station_insights
Revises: 0016_people_cadres
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = "0021_station_insights"
down_revision: str | None = "0016_people_cadres"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _disputes()
    _meetings()
    with op.batch_alter_table("village", schema=None) as b:
        b.add_column(sa.Column("station_unit", sa.String(length=100), nullable=True))
    op.create_table(
        "good_practice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column("cadre_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("written_by", sa.String(length=100), nullable=False),
        sa.Column("written_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["cadre_id"], ["cadre.id"], name=op.f("fk_good_practice_cadre_id_cadre")),
        sa.ForeignKeyConstraint(
            ["township_id"], ["township.id"], name=op.f("fk_good_practice_township_id_township")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["village.id"], name=op.f("fk_good_practice_village_id_village")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_good_practice")),
    )
    with op.batch_alter_table("good_practice", schema=None) as b:
        b.create_index(b.f("ix_good_practice_day"), ["day"], unique=False)
        b.create_index(b.f("ix_good_practice_township_id"), ["township_id"], unique=False)


def _disputes() -> None:
    op.create_table(
        "dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("cadre_id", sa.Integer(), nullable=False),
        sa.Column("category_before", sa.String(length=10), nullable=False),
        sa.Column("marked_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("marked_by", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column("outcome_on", sa.Date(), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("outcome_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('resolved','transferred','unresolved')", name=op.f("ck_dispute_dispute_outcome")
        ),
        sa.ForeignKeyConstraint(["cadre_id"], ["cadre.id"], name=op.f("fk_dispute_cadre_id_cadre")),
        sa.ForeignKeyConstraint(
            ["request_id"], ["villager_request.id"], name=op.f("fk_dispute_request_id_villager_request")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute")),
        sa.UniqueConstraint("request_id", name=op.f("uq_dispute_request_id")),
    )
    with op.batch_alter_table("dispute", schema=None) as b:
        b.create_index(b.f("ix_dispute_cadre_id"), ["cadre_id"], unique=False)
        b.create_index(b.f("ix_dispute_outcome_on"), ["outcome_on"], unique=False)
    op.create_table(
        "dispute_party",
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["dispute.id"], name=op.f("fk_dispute_party_dispute_id_dispute")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_dispute_party_household_id_household")
        ),
        sa.PrimaryKeyConstraint("dispute_id", "household_id", name=op.f("pk_dispute_party")),
    )
    with op.batch_alter_table("dispute_party", schema=None) as b:
        b.create_index(b.f("ix_dispute_party_household_id"), ["household_id"], unique=False)
    op.create_table(
        "dispute_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("created_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["dispute.id"], name=op.f("fk_dispute_step_dispute_id_dispute")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_step")),
    )
    with op.batch_alter_table("dispute_step", schema=None) as b:
        b.create_index("ix_dispute_step_day", ["dispute_id", "day"], unique=False)


def _meetings() -> None:
    op.create_table(
        "village_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("villagers", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("notified_at", storage.timestamps.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["village_id"], ["village.id"], name=op.f("fk_village_meeting_village_id_village")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_village_meeting")),
        sa.UniqueConstraint(
            "village_id", "day", "title", name=op.f("uq_village_meeting_village_id_day_title")
        ),
    )
    with op.batch_alter_table("village_meeting", schema=None) as b:
        b.create_index(b.f("ix_village_meeting_village_id"), ["village_id"], unique=False)
    op.create_table(
        "village_meeting_cadre",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("cadre_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cadre_id"], ["cadre.id"], name=op.f("fk_village_meeting_cadre_cadre_id_cadre")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["village_meeting.id"],
            name=op.f("fk_village_meeting_cadre_meeting_id_village_meeting"),
        ),
        sa.PrimaryKeyConstraint("meeting_id", "cadre_id", name=op.f("pk_village_meeting_cadre")),
    )
    with op.batch_alter_table("village_meeting_cadre", schema=None) as b:
        b.create_index(b.f("ix_village_meeting_cadre_cadre_id"), ["cadre_id"], unique=False)


def downgrade() -> None:
    op.drop_table("village_meeting_cadre")
    op.drop_table("village_meeting")
    op.drop_table("dispute_step")
    op.drop_table("dispute_party")
    op.drop_table("dispute")
    op.drop_table("good_practice")
    with op.batch_alter_table("village", schema=None) as b:
        b.drop_column("station_unit")
