"""a county of townships: every cadre belongs to a township, a card may be the county's or a township's, console
accounts of the county (county-admin, county-viewer) and of one township (admin, viewer, village)

An existing database holds one township: its data is put into it, nothing lost. The township row is the one the
importer made (its name was ``[general] township``); a database with people but no township row yet gets one named
from ``[general] township`` (passed by ``lianxin init`` as the ``township`` attribute), else 示范镇.

Revision ID: 0008_county
Revises: 0007_group_links
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0008_county"
down_revision: str | None = "0007_group_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES_BEFORE = "role IN ('admin','village','viewer')"
ROLES_AFTER = "role IN ('admin','village','viewer','county-admin','county-viewer')"


def _one_township(conn: sa.Connection) -> None:
    """A pre-county database is one township, but its township table may hold several rows: the importer made a
    new row whenever ``[general] township`` was renamed between imports. Left as they are, the upgraded database
    would count as a county (the only admin losing the account-wide pages, ``report`` asking for --township).
    The villages are moved into one row — the configured name's if it is there, else the oldest — and the other
    rows go. Two villages of one name in different rows cannot be merged blindly: the upgrade stops and says so."""
    rows = conn.execute(sa.text("SELECT id, name FROM township ORDER BY id")).all()
    if len(rows) < 2:
        return
    configured = context.config.attributes.get("township")
    target = next((tid for tid, name in rows if name == configured), rows[0][0])
    clashes = conn.execute(sa.text(
        "SELECT v.name FROM village v JOIN village w ON w.name = v.name AND w.township_id = :t"
        " WHERE v.township_id <> :t ORDER BY v.name"), {"t": target}).scalars().all()
    if clashes:
        names = "、".join(name for _tid, name in rows)
        raise RuntimeError(
            f"这个数据库有 {len(rows)} 个乡镇记录（{names}），而升级前的数据库只应有一个乡镇；村(居)"
            f"「{'、'.join(sorted(set(clashes)))}」在几个乡镇下重名，无法自动合并。请先在旧版本中把重名的村合并或改名，"
            f"再运行 lianxin init。/ several township rows with villages of the same name: merge them first.")
    conn.execute(sa.text("UPDATE village SET township_id = :t WHERE township_id <> :t"), {"t": target})
    conn.execute(sa.text("DELETE FROM township WHERE id <> :t"), {"t": target})


def _the_township(conn: sa.Connection) -> int | None:
    """The one township of a pre-county database (made from [general] township when people exist without it)."""
    _one_township(conn)
    tid = conn.scalar(sa.text("SELECT MIN(id) FROM township"))
    if tid is not None:
        return int(tid)
    people = conn.scalar(sa.text("SELECT (SELECT COUNT(*) FROM cadre) + (SELECT COUNT(*) FROM task)"
                                 " + (SELECT COUNT(*) FROM console_user)"))
    if not people:
        return None
    name = context.config.attributes.get("township") or "示范镇"
    conn.execute(sa.text("INSERT INTO township (name) VALUES (:n)"), {"n": name})
    return int(conn.scalar(sa.text("SELECT id FROM township WHERE name = :n"), {"n": name}))


def upgrade() -> None:
    conn = op.get_bind()
    tid = _the_township(conn)
    with op.batch_alter_table("cadre", schema=None) as b:
        b.add_column(sa.Column("township_id", sa.Integer(), nullable=True))
    conn.execute(sa.text("UPDATE cadre SET township_id = (SELECT village.township_id FROM village"
                         " WHERE village.id = cadre.village_id) WHERE village_id IS NOT NULL"))
    if tid is not None:
        conn.execute(sa.text("UPDATE cadre SET township_id = :t WHERE township_id IS NULL"), {"t": tid})
    with op.batch_alter_table("cadre", schema=None) as b:
        b.alter_column("township_id", existing_type=sa.Integer(), nullable=False)
        b.create_index(b.f("ix_cadre_township_id"), ["township_id"], unique=False)
        b.create_foreign_key(b.f("fk_cadre_township_id_township"), "township", ["township_id"], ["id"])

    with op.batch_alter_table("task", schema=None) as b:
        b.add_column(sa.Column("township_id", sa.Integer(), nullable=True))
        b.create_index(b.f("ix_task_township_id"), ["township_id"], unique=False)
        b.create_foreign_key(b.f("fk_task_township_id_township"), "township", ["township_id"], ["id"])
    if tid is not None:
        conn.execute(sa.text("UPDATE task SET township_id = :t"), {"t": tid})

    with op.batch_alter_table("console_user", schema=None) as b:
        b.drop_constraint("user_role", type_="check")
        b.alter_column("role", existing_type=sa.String(length=10), type_=sa.String(length=20), existing_nullable=False)
        b.add_column(sa.Column("township_id", sa.Integer(), nullable=True))
        b.create_foreign_key(b.f("fk_console_user_township_id_township"), "township", ["township_id"], ["id"])
        b.create_check_constraint("user_role", ROLES_AFTER)
    conn.execute(sa.text("UPDATE console_user SET township_id = (SELECT village.township_id FROM village"
                         " WHERE village.id = console_user.village_id) WHERE village_id IS NOT NULL"))
    if tid is not None:
        conn.execute(sa.text("UPDATE console_user SET township_id = :t WHERE township_id IS NULL"), {"t": tid})


def downgrade() -> None:
    # County accounts have no place in a one-township schema; their cards stay, as the township's.
    op.execute("DELETE FROM console_user WHERE role IN ('county-admin','county-viewer')")
    with op.batch_alter_table("console_user", schema=None) as b:
        b.drop_constraint("user_role", type_="check")
        b.drop_constraint(b.f("fk_console_user_township_id_township"), type_="foreignkey")
        b.drop_column("township_id")
        b.alter_column("role", existing_type=sa.String(length=20), type_=sa.String(length=10), existing_nullable=False)
        b.create_check_constraint("user_role", ROLES_BEFORE)
    with op.batch_alter_table("task", schema=None) as b:
        b.drop_constraint(b.f("fk_task_township_id_township"), type_="foreignkey")
        b.drop_index(b.f("ix_task_township_id"))
        b.drop_column("township_id")
    with op.batch_alter_table("cadre", schema=None) as b:
        b.drop_constraint(b.f("fk_cadre_township_id_township"), type_="foreignkey")
        b.drop_index(b.f("ix_cadre_township_id"))
        b.drop_column("township_id")
