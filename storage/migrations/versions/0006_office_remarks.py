"""office remarks: the office's 季点评 comments on villages and cadres, and the cadres commended (表彰) in a year
(issue 15 item 3)

Revision ID: 0006_office_remarks
Revises: 0004_office_month
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = "0006_office_remarks"
down_revision: str | None = "0004_office_month"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "office_remark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("cadre_id", sa.Integer(), nullable=True),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_by", sa.String(length=100), nullable=False),
        sa.Column("written_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('comment','commend')", name=op.f("ck_office_remark_remark_kind")),
        sa.ForeignKeyConstraint(["cadre_id"], ["cadre.id"], name=op.f("fk_office_remark_cadre_id_cadre")),
        sa.ForeignKeyConstraint(["village_id"], ["village.id"], name=op.f("fk_office_remark_village_id_village")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_remark")),
        sa.UniqueConstraint("kind", "period", "subject", name=op.f("uq_office_remark_kind_period_subject")),
    )
    with op.batch_alter_table("office_remark", schema=None) as b:
        b.create_index(b.f("ix_office_remark_cadre_id"), ["cadre_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("office_remark", schema=None) as b:
        b.drop_index(b.f("ix_office_remark_cadre_id"))
    op.drop_table("office_remark")
