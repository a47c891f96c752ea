"""people change over a year, the register's part (issue 24 item 4): households added and closed without
re-importing

- ``household.added_by`` (who added it outside a list; None: a list did), ``closed_on`` / ``closed_reason`` /
  ``closed_at`` / ``closed_by`` (the household left the programme: storage/register.py).
- ``household_tag``: a household's 重点人群 tags (storage/household_tags.py; issue 24 item 6).
- ``import_archive``: every applied link list's file, who imported it and when (storage/import_archive.py;
  issue 24 item 7).

Revision ID: 0017_people_households
Revises: 0021_station_insights
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = "0017_people_households"
down_revision: str | None = "0021_station_insights"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("household") as b:
        b.add_column(sa.Column("added_by", sa.String(length=100), nullable=True))
        b.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("closed_reason", sa.String(length=10), nullable=True))
        b.add_column(sa.Column("closed_at", storage.timestamps.UTCDateTime(), nullable=True))
        b.add_column(sa.Column("closed_by", sa.String(length=100), nullable=True))
    op.create_table(
        "household_tag",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=20), nullable=False),
        sa.Column("added_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_household_tag_household_id_household")
        ),
        sa.PrimaryKeyConstraint("household_id", "tag", name=op.f("pk_household_tag")),
    )
    op.create_index(op.f("ix_household_tag_tag"), "household_tag", ["tag"], unique=False)
    op.create_table(
        "import_archive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("counts", storage.timestamps.JSONType, nullable=True),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.Column("imported_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("content_removed_at", storage.timestamps.UTCDateTime(), nullable=True),
        sa.Column("content_removed_why", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["township_id"], ["township.id"], name=op.f("fk_import_archive_township_id_township")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_archive")),
    )
    op.create_index(op.f("ix_import_archive_township_id"), "import_archive", ["township_id"], unique=False)
    op.create_index(op.f("ix_import_archive_imported_at"), "import_archive", ["imported_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_import_archive_imported_at"), table_name="import_archive")
    op.drop_index(op.f("ix_import_archive_township_id"), table_name="import_archive")
    op.drop_table("import_archive")
    op.drop_index(op.f("ix_household_tag_tag"), table_name="household_tag")
    op.drop_table("household_tag")
    with op.batch_alter_table("household") as b:
        b.drop_column("closed_by")
        b.drop_column("closed_at")
        b.drop_column("closed_reason")
        b.drop_column("closed_on")
        b.drop_column("added_by")
