"""Who WeChat can still reach. One home for the rule that every door uses (the chat, delivery, the console).

An account is unreachable when its person unfollowed the account (``unsubscribe`` event, or 43004 from WeChat on
a send) or switched off its messages (48002, a ``TEMPLATESENDJOBFINISH`` event ``failed:user block``): nothing
pushed reaches them. Never deleted: a follow makes an unfollowed account reachable again, and the person's own
message makes any account reachable again (one writes only to an account one follows; bot.dispatch clears the
mark with the message that opens the window).

A cadre is unreachable when the account they are bound with (the most recently bound one, as
handlers.common.cadre_openid picks it) is: their villagers' requests then go to the office instead
(storage/requests.py), and the office's pages say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import WechatIdentity

UNFOLLOWED = "取消关注"
REFUSED = "拒收消息"


def mark_unreachable(ident: WechatIdentity, reason: str, *, unfollowed: bool, now: datetime) -> bool:
    """Mark ``ident`` unreachable (``reason`` shown to the office); returns True when it was reachable before."""
    was = not ident.unreachable and ident.subscribed
    ident.unreachable = True
    ident.unreachable_reason = reason[:200]
    if unfollowed:
        ident.subscribed = False
        ident.unsubscribed_at = ident.unsubscribed_at or now
    return was


def mark_reachable(ident: WechatIdentity) -> None:
    """The person followed again (or wrote to us): pushes reach them again."""
    ident.subscribed = True
    ident.unsubscribed_at = None
    ident.unreachable = False
    ident.unreachable_reason = None


def refuses_messages(ident: WechatIdentity | None) -> bool:
    """Unreachable because they switched off messages (they still follow): their pushes wait until they write."""
    return ident is not None and ident.unreachable and ident.subscribed


def cadre_accounts(session: Session, cadre_ids: Iterable[int] | None = None) -> dict[int, WechatIdentity]:
    """cadre id → the account they are bound with (the most recently bound one, as cadre_openid picks it)."""
    stmt = select(WechatIdentity).where(WechatIdentity.kind == "cadre", WechatIdentity.cadre_id.is_not(None))
    if cadre_ids is not None:
        ids = list(cadre_ids)
        if not ids:
            return {}
        stmt = stmt.where(WechatIdentity.cadre_id.in_(ids))
    out: dict[int, WechatIdentity] = {}
    for ident in session.scalars(stmt):
        cid = ident.cadre_id
        assert cid is not None
        best = out.get(cid)
        if best is None or _later(ident, best):
            out[cid] = ident
    return out


def _later(a: WechatIdentity, b: WechatIdentity) -> bool:
    """a was bound after b (the order of handlers.common.cadre_openid: bound_at desc nulls last, then id desc)."""
    if (a.bound_at is None) != (b.bound_at is None):
        return a.bound_at is not None
    if a.bound_at is not None and b.bound_at is not None and a.bound_at != b.bound_at:
        return a.bound_at > b.bound_at
    return a.id > b.id


def unreachable_cadres(session: Session, cadre_ids: Iterable[int] | None = None) -> dict[int, str]:
    """cadre id → why their WeChat cannot be reached, for the bound cadres (of ``cadre_ids``) who cannot be."""
    return {
        cid: ident.unreachable_reason or UNFOLLOWED
        for cid, ident in cadre_accounts(session, cadre_ids).items()
        if ident.unreachable or not ident.subscribed
    }


def reachable(ident: WechatIdentity | None) -> bool:
    return ident is not None and not ident.unreachable and ident.subscribed
