"""one home for each rule (issue 23): numbers from a counter row, typed targets and references, binding codes
as HMACs

- ``number_counter``: the next 督办卡号 (``task``) and 诉求号 (``villager_request``), one row each
  (storage/numbering.py); each starts after the largest number already issued, so no number is issued twice.
- ``task.targets``: from strings re-parsed by name (``"village:石门村"``) to typed targets by id
  (storage/targets.py: ``{"kind", "id", "label"}``). Names are looked up once here (a village named twice: the
  card's own township's); a place or phone not found keeps its label with no id and reaches no one. Downgrade
  writes the labels back as ``kind:label`` strings.
- ``outbox_message.assignment_id``: a card's push names its assignment by id (delivery marked it by parsing the
  idempotency key ``task:<task>:cadre:<cadre>``); filled here for the existing card pushes, from that key.
- ``feedback.cadre_id``: the cadre who wrote an entry of a card's timeline (None: the office), by which a photo
  sent just after joins it (it matched the author text ``cadre:<phone>``); filled from the assignment's cadre
  for the entries a cadre wrote.
- ``bind_code.code_hash``: binding codes are kept as HMACs under the deployment's secret (storage/accounts.py
  ``code_hash``) instead of an unsalted sha256. The codes issued before cannot be rehashed (only their sha256
  is known), so every unused one is voided here (``revoked_at`` set): a code lives 72 hours at most, and the
  office issues a new one (the console shows the old one as voided). Downgrade leaves them voided.

Revision ID: 0014_house_rules
Revises: 0013_push_edges
"""
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime

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
    _typed_targets(op.get_bind())
    with op.batch_alter_table("outbox_message", schema=None) as b:
        b.add_column(sa.Column("assignment_id", sa.Integer(), nullable=True))
        b.create_index(b.f("ix_outbox_message_assignment_id"), ["assignment_id"], unique=False)
        b.create_foreign_key(
            "fk_outbox_message_assignment_id_task_assignment", "task_assignment", ["assignment_id"], ["id"]
        )
    _fill_assignment_ids(op.get_bind())
    with op.batch_alter_table("feedback", schema=None) as b:
        b.add_column(sa.Column("cadre_id", sa.Integer(), nullable=True))
        b.create_index(b.f("ix_feedback_cadre_id"), ["cadre_id"], unique=False)
        b.create_foreign_key("fk_feedback_cadre_id_cadre", "cadre", ["cadre_id"], ["id"])
    op.execute(
        "UPDATE feedback SET cadre_id = (SELECT cadre_id FROM task_assignment WHERE task_assignment.id = "
        "feedback.assignment_id) WHERE author LIKE 'cadre:%'"
    )
    # Real time, not the product's clock (a migration has none): when the old codes stopped working; naive UTC
    # text as storage/timestamps.py keeps it (the same on SQLite and PostgreSQL).
    voided_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # real time: a migration has no product clock
    op.get_bind().execute(
        sa.text("UPDATE bind_code SET revoked_at = :t WHERE used_at IS NULL AND revoked_at IS NULL"),
        {"t": voided_at},
    )


TASK_KEY = re.compile(r"^task:(\d+):cadre:(\d+)$")


def _fill_assignment_ids(conn: sa.Connection) -> None:
    assignments = {
        (task_id, cadre_id): aid
        for aid, task_id, cadre_id in conn.execute(sa.text("SELECT id, task_id, cadre_id FROM task_assignment"))
    }
    rows = conn.execute(
        sa.text("SELECT id, idempotency_key FROM outbox_message WHERE idempotency_key LIKE 'task:%:cadre:%'")
    ).all()
    for row_id, key in rows:
        m = TASK_KEY.match(key)
        aid = assignments.get((int(m.group(1)), int(m.group(2)))) if m else None
        if aid is not None:
            conn.execute(
                sa.text("UPDATE outbox_message SET assignment_id = :a WHERE id = :i"), {"a": aid, "i": row_id}
            )


# --------------------------------------------------------------------------------------------- targets

KINDS = {"township": "township", "乡镇": "township", "镇": "township", "village": "village", "村": "village",
         "cadre": "cadre", "干部": "cadre"}


def _json(raw: object) -> list:
    return json.loads(raw) if isinstance(raw, str) else list(raw or [])


def _phone(raw: str) -> str:
    """As storage.accounts.normalize_phone read it when the card was made."""
    s = raw.translate({0xFF10 + i: 0x30 + i for i in range(10)})
    s = re.sub(r"[\s\-—－()（）]", "", s)
    return s[3:] if s.startswith("+86") else s[4:] if s.startswith("0086") else s


def _typed_targets(conn: sa.Connection) -> None:
    for task_id, township_id, raw in conn.execute(sa.text("SELECT id, township_id, targets FROM task")).all():
        typed = [_typed(conn, str(t), township_id) for t in _json(raw)]
        conn.execute(sa.text("UPDATE task SET targets = :t WHERE id = :i"), {"t": json.dumps(typed), "i": task_id})


def _typed(conn: sa.Connection, text: str, township_id: int | None) -> dict:
    word = text.strip()
    kind_word, _, value = word.partition(":")
    kind, value = KINDS.get(kind_word.strip().lower()), value.strip()
    if word in ("all", "全部"):
        return {"kind": "all", "id": None, "label": ""}
    if kind is None:  # refused when the card was made, so none is expected: it reaches no one
        return {"kind": "village", "id": None, "label": word}
    if kind == "township":
        found = conn.execute(sa.text("SELECT id FROM township WHERE name = :n"), {"n": value}).scalar()
    elif kind == "village":
        rows = conn.execute(
            sa.text("SELECT id, township_id FROM village WHERE name = :n ORDER BY id"), {"n": value}
        ).all()
        own = [r for r in rows if township_id is None or r[1] == township_id]
        found = own[0][0] if own else None
    else:
        value = _phone(value)
        found = conn.execute(sa.text("SELECT id FROM cadre WHERE phone = :p"), {"p": value}).scalar()
    return {"kind": kind, "id": found, "label": value}


def _target_text(t: dict) -> str:
    return "all" if t.get("kind") == "all" else f"{t.get('kind')}:{t.get('label') or ''}"


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as b:
        b.drop_constraint("fk_feedback_cadre_id_cadre", type_="foreignkey")
        b.drop_index(b.f("ix_feedback_cadre_id"))
        b.drop_column("cadre_id")
    with op.batch_alter_table("outbox_message", schema=None) as b:
        b.drop_constraint("fk_outbox_message_assignment_id_task_assignment", type_="foreignkey")
        b.drop_index(b.f("ix_outbox_message_assignment_id"))
        b.drop_column("assignment_id")
    conn = op.get_bind()
    for task_id, raw in conn.execute(sa.text("SELECT id, targets FROM task")).all():
        old = [_target_text(t) for t in _json(raw)]
        conn.execute(sa.text("UPDATE task SET targets = :t WHERE id = :i"), {"t": json.dumps(old), "i": task_id})
    op.drop_table("number_counter")
