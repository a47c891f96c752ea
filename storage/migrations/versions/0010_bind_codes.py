"""accounts and card numbers (issue 21): voided binding codes and the history of cadres' bindings

- ``bind_code.revoked_at``: a newer code for the same cadre voids the older unused ones;
- ``cadre_binding``: every binding of a cadre's WeChat account (when, which account, which code, released when
  and why). Existing bindings are copied in (their code is not known);
- ``household.links_made`` and ``wechat_identity.link_no``: each WeChat account linked to a household gets the
  household's next link number (named in the cadre's link notice, so `解绑` removes exactly that account).
  Existing links are numbered by when they were made;
- ``villager_request.answer_to_id``: for a request received offline, the linked account the office chose to tell
  of the answer (none: the cadre is told, never the household's latest link by default).

Revision ID: 0010_bind_codes
Revises: 0009_township_circulars
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = "0010_bind_codes"
down_revision: str | None = "0009_township_circulars"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bind_code", schema=None) as b:
        b.add_column(sa.Column("revoked_at", storage.timestamps.UTCDateTime(), nullable=True))
    op.create_table(
        "cadre_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cadre_id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("bound_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("released_at", storage.timestamps.UTCDateTime(), nullable=True),
        sa.Column("released_why", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["cadre_id"], ["cadre.id"], name=op.f("fk_cadre_binding_cadre_id_cadre")),
        sa.ForeignKeyConstraint(["code_id"], ["bind_code.id"], name=op.f("fk_cadre_binding_code_id_bind_code")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadre_binding")),
    )
    with op.batch_alter_table("cadre_binding", schema=None) as b:
        b.create_index(b.f("ix_cadre_binding_cadre_id"), ["cadre_id"], unique=False)
    with op.batch_alter_table("household", schema=None) as b:
        b.add_column(sa.Column("links_made", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("wechat_identity", schema=None) as b:
        b.add_column(sa.Column("link_no", sa.Integer(), nullable=True))
    conn = op.get_bind()
    made: dict[int, int] = {}
    for ident_id, household_id in conn.execute(
        sa.text(
            "SELECT id, household_id FROM wechat_identity WHERE kind = 'villager' AND household_id IS NOT NULL "
            "ORDER BY household_id, bound_at, id"
        )
    ).all():
        made[household_id] = made.get(household_id, 0) + 1
        conn.execute(sa.text("UPDATE wechat_identity SET link_no = :n WHERE id = :i"),
                     {"n": made[household_id], "i": ident_id})
    for household_id, n in made.items():
        conn.execute(sa.text("UPDATE household SET links_made = :n WHERE id = :h"), {"n": n, "h": household_id})
    with op.batch_alter_table("villager_request", schema=None) as b:
        b.add_column(sa.Column("answer_to_id", sa.Integer(), nullable=True))
        b.create_foreign_key(
            "fk_villager_request_answer_to_id_wechat_identity", "wechat_identity", ["answer_to_id"], ["id"]
        )
    op.execute(
        "INSERT INTO cadre_binding (cadre_id, openid, bound_at) "
        "SELECT cadre_id, openid, COALESCE(bound_at, first_seen_at) FROM wechat_identity "
        "WHERE kind = 'cadre' AND cadre_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("villager_request", schema=None) as b:
        b.drop_constraint("fk_villager_request_answer_to_id_wechat_identity", type_="foreignkey")
        b.drop_column("answer_to_id")
    with op.batch_alter_table("wechat_identity", schema=None) as b:
        b.drop_column("link_no")
    with op.batch_alter_table("household", schema=None) as b:
        b.drop_column("links_made")
    with op.batch_alter_table("cadre_binding", schema=None) as b:
        b.drop_index(b.f("ix_cadre_binding_cadre_id"))
    op.drop_table("cadre_binding")
    with op.batch_alter_table("bind_code", schema=None) as b:
        b.drop_column("revoked_at")
