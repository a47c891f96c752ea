"""published circulars and the monthly drafts per township: ``township_id`` on published_report and stored_report
(None: the county's report, published with ``report publish --county``)

An existing database's circulars and drafts were its one township's: they are put into it (the township 0008_county
made). The unique keys gain the township; the county's own rows (township NULL) are kept unique by a partial index,
as NULLs never collide in a unique constraint.

Revision ID: 0009_township_circulars
Revises: 0008_county
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_township_circulars"
down_revision: str | None = "0008_county"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("published_report", "stored_report")
COUNTY_ONLY = sa.text("township_id IS NULL")


def upgrade() -> None:
    conn = op.get_bind()
    tid = conn.scalar(sa.text("SELECT MIN(id) FROM township"))
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as b:
            b.add_column(sa.Column("township_id", sa.Integer(), nullable=True))
        if tid is not None:
            conn.execute(sa.text(f"UPDATE {table} SET township_id = :t"), {"t": int(tid)})
        with op.batch_alter_table(table, schema=None) as b:
            b.drop_constraint(f"uq_{table}_kind_period_format", type_="unique")
            b.create_unique_constraint(f"uq_{table}_kind_period_format_township_id",
                                       ["kind", "period", "format", "township_id"])
            b.create_index(f"ix_{table}_township_id", ["township_id"], unique=False)
            b.create_foreign_key(f"fk_{table}_township_id_township", "township", ["township_id"], ["id"])
        op.create_index(f"uq_{table}_county", table, ["kind", "period", "format"], unique=True,
                        sqlite_where=COUNTY_ONLY, postgresql_where=COUNTY_ONLY)


def downgrade() -> None:
    # One township's rows survive (the first township's, or the county's when there is none): the old key holds one.
    conn = op.get_bind()
    tid = conn.scalar(sa.text("SELECT MIN(id) FROM township"))
    for table in TABLES:
        if tid is not None:
            conn.execute(sa.text(f"DELETE FROM {table} WHERE township_id IS NULL OR township_id <> :t"), {"t": int(tid)})
        op.drop_index(f"uq_{table}_county", table_name=table)
        with op.batch_alter_table(table, schema=None) as b:
            b.drop_constraint(f"fk_{table}_township_id_township", type_="foreignkey")
            b.drop_index(f"ix_{table}_township_id")
            b.drop_constraint(f"uq_{table}_kind_period_format_township_id", type_="unique")
            b.create_unique_constraint(f"uq_{table}_kind_period_format", ["kind", "period", "format"])
            b.drop_column("township_id")
