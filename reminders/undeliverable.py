"""Pushes to people WeChat cannot reach: who is marked, who is told, where a villager's request goes instead.

Called by delivery (reminders/delivery.py) for a push whose person is known to be unreachable (no call to WeChat),
and for 43004 (unfollowed) and 48002/43101 (refuses messages) answered to a send. The rule of who is reachable is
storage/reachability.py; a request to a cadre who cannot be reached goes to the office (handlers/request_routing.py);
the office's notice about a refusing person is handlers/unreachable_notices.py's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import request_routing, unreachable_notices
from reminders.outbox_claims import finish
from reminders.render import render
from reminders.wechat_port import WechatError
from storage.models import Cadre, Household, OutboxMessage, VillagerRequest, WechatIdentity
from storage.outbox import enqueue
from storage.reachability import REFUSED as REFUSED_REASON
from storage.reachability import mark_unreachable
from storage.runtime import Lianxin
from storage.tasks import office_recipients


def undeliverable(
    lx: Lianxin, m: OutboxMessage, claim_id: str, reason: str, now: datetime, *, refuses: bool = False
) -> None:
    """A push to someone already known to be unreachable: no call to WeChat. A villager's request to a cadre
    goes to the office instead (handlers/request_routing.py); a push to someone who refuses messages waits
    (``refused``) until they write to us again; anything else fails, saying why."""
    with lx.session() as s:
        rerouted = reroute_request(s, lx, m, reason, now)
        note = f"unreachable: {reason}" + ("（诉求已转办公室）" if rerouted else "")
        status = "refused" if refuses and not rerouted else "failed"
        attempts = m.attempts + (status == "failed")
        finish(s, m, claim_id, status=status, attempts=attempts, last_error=note)


def mark_refused(lx: Lianxin, m: OutboxMessage, claim_id: str, e: WechatError, now: datetime) -> None:
    """48002/43101: the person switched off the account's messages. The push is kept (``refused``) and so are
    their others, untried, until they write to us again (outbox_claims.requeue_refused); the office is told
    once; a villager's request to such a cadre goes to the office."""
    reason = f"{REFUSED_REASON}（{e.errcode}）"
    with lx.session() as s:
        rerouted = reroute_request(s, lx, m, reason, now)
        finish(
            s,
            m,
            claim_id,
            status="failed" if rerouted else "refused",
            attempts=m.attempts + 1,
            last_error=str(e) + ("（诉求已转办公室）" if rerouted else ""),
        )
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == m.openid))
        if ident is not None and mark_unreachable(ident, reason, unfollowed=False, now=now):
            unreachable_notices.refuses_messages(s, ident, reason=reason, config=lx.config, now=now)


def reroute_request(s: Session, lx: Lianxin, m: OutboxMessage, reason: str, now: datetime) -> bool:
    """A villager's request (kind ``request``) that cannot reach its cadre: to the office, the villager told."""
    number = str(((m.payload or {}).get("template") or {}).get("number", ""))
    if m.kind != "request" or not number.isdigit():
        return False
    ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == m.openid))
    if ident is None or ident.kind != "cadre":
        return False  # the office's own copy of a request (its account unreachable) is not sent on again
    return request_routing.reroute(
        s, number=int(number), reason=reason, key=m.idempotency_key, config=lx.config, now=now
    )


def mark_unreachable_on_send(
    lx: Lianxin, m: OutboxMessage, claim_id: str, e: WechatError, now: datetime
) -> None:
    reason = f"{e.errcode} 用户已取消关注" if e.errcode == 43004 else str(e)
    with lx.session() as s:
        rerouted = reroute_request(s, lx, m, reason, now)
        finish(
            s,
            m,
            claim_id,
            status="failed",
            attempts=m.attempts + 1,
            last_error=str(e) + ("（诉求已转办公室）" if rerouted else ""),
        )
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == m.openid))
        who = m.openid
        if ident is not None:
            mark_unreachable(ident, reason, unfollowed=e.errcode == 43004, now=now)
            if ident.cadre_id:
                c = s.get(Cadre, ident.cadre_id)
                who = f"干部 {c.name}（{c.phone}）" if c else who
            elif ident.household_id:
                h = s.get(Household, ident.household_id)
                who = f"农户 {h.head_name}" if h else who
        for openid in office_recipients(s, lx.config.scheduler.office_openids):
            if openid == m.openid:
                continue
            enqueue(
                s,
                openid=openid,
                kind="notice",
                text=render(
                    "unreachable_notice", who=who, reason=reason, text=(m.payload or {}).get("text", "")
                ),
                key=f"unreachable:{m.openid}:{openid}",
            )
        sender = None if rerouted else sender_of(s, m)  # a rerouted request's villager hears it from there
        if sender is not None and sender != m.openid:
            # Whoever the message came from (the cadre who answered, the villager who asked) learns it did not
            # arrive, so they can phone instead.
            enqueue(
                s,
                openid=sender,
                kind="notice",
                key=f"unreachable-sender:{m.id}",
                text=render("unreachable_sender", who=who, text=(m.payload or {}).get("text", "")),
            )


def sender_of(s: Session, m: OutboxMessage) -> str | None:
    """The openid of whoever a relayed message came from: a reply's cadre, a request's villager."""
    number = str(((m.payload or {}).get("template") or {}).get("number", ""))
    if m.kind not in ("reply", "request") or not number.isdigit():
        return None
    req = s.scalar(select(VillagerRequest).where(VillagerRequest.number == int(number)))
    if req is None:
        return None
    if m.kind == "request":
        ident = s.get(WechatIdentity, req.identity_id)
        return ident.openid if ident is not None and not ident.unreachable else None
    return s.scalar(
        select(WechatIdentity.openid)
        .where(
            WechatIdentity.cadre_id == req.cadre_id,
            WechatIdentity.kind == "cadre",
            WechatIdentity.unreachable.is_(False),
        )
        .limit(1)
    )
