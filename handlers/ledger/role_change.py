"""`改 调解`: a cadre corrects the 五个员 role guessed for their latest diary entry."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre
from handlers.ledger.shared import fold_word
from handlers.roles import ROLES, normalize_role
from storage.models import DiaryEntry

_role_keyword = command("改")


def match_role(ctx: Context, msg: Message) -> dict[str, Any] | None:
    """`改 调解`; also `改为调解`, `改成 纠纷调解员` — without a space only when the rest is a role."""
    parsed = _role_keyword(ctx, msg)
    if parsed is not None:
        return parsed
    if msg.kind != "text":
        return None
    m = re.fullmatch(r"改(为|成)?\s*(\S{2,6})", fold_word(msg.text))
    if m and normalize_role(m.group(2)) is not None:
        return {"rest": m.group(2)}
    return None


def change_role(ctx: Context, msg: Message, rest: str) -> str:
    word = re.sub(r"^(为|成|作|到)\s*", "", fold_word(rest))
    role = normalize_role(word) if word else None
    if role is None:
        return ctx.render("ledger_role_usage", roles=ROLES, word=rest.strip())
    cadre = cadre_of(ctx)
    entry = ctx.session.scalar(
        select(DiaryEntry)
        .where(DiaryEntry.cadre_id == cadre.id, DiaryEntry.deleted_at.is_(None))
        .order_by(DiaryEntry.created_at.desc(), DiaryEntry.id.desc())
        .limit(1)
    )
    if entry is None:
        return ctx.render("ledger_role_no_entry")
    old = entry.role
    entry.role = role
    ctx.session.flush()
    text = entry.text if len(entry.text) <= 20 else entry.text[:20] + "…"
    return ctx.render(
        "ledger_role_changed",
        day=entry.day,
        text=text,
        old=ROLES.get(old or "", ""),
        new=ROLES[role],
        same=old == role,
    )


router = Router("ledger.role", is_cadre, (Route("ledger.role", match_role, change_role),))
