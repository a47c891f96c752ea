"""the station's 转办 (issue 26 items 1 and 5): a township's departments (站办所), requests passed to them and what
became of each passing, and console accounts of a department

- ``department``: a township's 站办所 with the WeChat accounts of its staff (``openids``).
- ``request_transfer``: one passing of a villager's request to a department (转办): due date, answer, more time
  asked, handed back, closed (办结), the villager's rating of the department's answer.
- ``villager_request.department_id`` (the department it was last passed to) and the status ``transferred`` (the
  column widened from 10 to 12 characters for it).
- ``console_user.department_id`` and the role ``department``.

Downgrade: requests still with a department go back to their cadres (``open``), department accounts are
removed, and the departments with every transfer are dropped.

Revision ID: 0020_station_transfer
Revises: 0017_people_households
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.timestamps

revision: str = "0020_station_transfer"
down_revision: str | None = "0017_people_households"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_BEFORE = "status IN ('open','answered','closed')"
STATUS_AFTER = "status IN ('open','transferred','answered','closed')"
ROLES_BEFORE = "role IN ('admin','village','viewer','county-admin','county-viewer')"
ROLES_AFTER = "role IN ('admin','village','viewer','county-admin','county-viewer','department')"


def upgrade() -> None:
    op.create_table(
        "department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("openids", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["township_id"], ["township.id"], name=op.f("fk_department_township_id_township")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department")),
        sa.UniqueConstraint("township_id", "name", name=op.f("uq_department_township_id_name")),
    )
    op.create_index(op.f("ix_department_township_id"), "department", ["township_id"], unique=False)
    with op.batch_alter_table("villager_request", schema=None) as b:
        b.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        b.alter_column("status", existing_type=sa.String(length=10), type_=sa.String(length=12), existing_nullable=False)
        b.create_index(b.f("ix_villager_request_department_id"), ["department_id"], unique=False)
        b.create_foreign_key(b.f("fk_villager_request_department_id_department"), "department", ["department_id"], ["id"])
        b.drop_constraint("request_status", type_="check")
        b.create_check_constraint("request_status", STATUS_AFTER)
    op.create_table(
        "request_transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("transferred_by", sa.String(length=100), nullable=False),
        sa.Column("transferred_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("due", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("answered_at", storage.timestamps.UTCDateTime(), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("extension_until", storage.timestamps.UTCDateTime(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("extension_status", sa.String(length=10), nullable=True),
        sa.Column("returned_at", storage.timestamps.UTCDateTime(), nullable=True),
        sa.Column("returned_reason", sa.Text(), nullable=True),
        sa.Column("closed_at", storage.timestamps.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("satisfaction", sa.String(length=10), nullable=True),
        sa.Column("satisfaction_at", storage.timestamps.UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('open','answered','returned','closed')", name=op.f("ck_request_transfer_transfer_status")),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], name=op.f("fk_request_transfer_department_id_department")),
        sa.ForeignKeyConstraint(["request_id"], ["villager_request.id"], name=op.f("fk_request_transfer_request_id_villager_request")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_transfer")),
    )
    op.create_index("ix_transfer_department_status", "request_transfer", ["department_id", "status"], unique=False)
    op.create_index(op.f("ix_request_transfer_request_id"), "request_transfer", ["request_id"], unique=False)
    op.create_index(op.f("ix_request_transfer_transferred_at"), "request_transfer", ["transferred_at"], unique=False)
    with op.batch_alter_table("console_user", schema=None) as b:
        b.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        b.create_foreign_key(b.f("fk_console_user_department_id_department"), "department", ["department_id"], ["id"])
        b.drop_constraint("user_role", type_="check")
        b.create_check_constraint("user_role", ROLES_AFTER)


def downgrade() -> None:
    conn = op.get_bind()
    # A request with a department goes back to its cadre: the old schema knows no department.
    conn.execute(sa.text("UPDATE villager_request SET status = 'open' WHERE status = 'transferred'"))
    conn.execute(sa.text("DELETE FROM console_session WHERE user_id IN (SELECT id FROM console_user WHERE role = 'department')"))
    conn.execute(sa.text("DELETE FROM console_user WHERE role = 'department'"))
    with op.batch_alter_table("console_user", schema=None) as b:
        b.drop_constraint("user_role", type_="check")
        b.create_check_constraint("user_role", ROLES_BEFORE)
        b.drop_constraint(b.f("fk_console_user_department_id_department"), type_="foreignkey")
        b.drop_column("department_id")
    op.drop_index(op.f("ix_request_transfer_transferred_at"), table_name="request_transfer")
    op.drop_index(op.f("ix_request_transfer_request_id"), table_name="request_transfer")
    op.drop_index("ix_transfer_department_status", table_name="request_transfer")
    op.drop_table("request_transfer")
    with op.batch_alter_table("villager_request", schema=None) as b:
        b.drop_constraint("request_status", type_="check")
        b.create_check_constraint("request_status", STATUS_BEFORE)
        b.drop_constraint(b.f("fk_villager_request_department_id_department"), type_="foreignkey")
        b.drop_index(b.f("ix_villager_request_department_id"))
        b.drop_column("department_id")
        b.alter_column("status", existing_type=sa.String(length=12), type_=sa.String(length=10), existing_nullable=False)
    op.drop_index(op.f("ix_department_township_id"), table_name="department")
    op.drop_table("department")
