"""Choosing the channel per recipient: the 48-hour window, its customer-service quota, template or digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from reminders.render import render
from storage.models import OutboxMessage, WechatIdentity
from storage.runtime import Lianxin

WINDOW = timedelta(hours=48)


@dataclass
class Recipient:
    openid: str
    identity_id: int | None
    window_open: bool
    quota_left: int
    unreachable: bool
    reason: str | None


def recipients(lx: Lianxin, openids: list[str], now: datetime) -> dict[str, Recipient]:
    quota = lx.config["wechat"]["custom_quota_per_window"]
    out: dict[str, Recipient] = {}
    with lx.sessions() as s:
        idents = {i.openid: i for i in s.scalars(select(WechatIdentity).where(WechatIdentity.openid.in_(openids)))}
        # Customer-service messages already sent since the user's last message (that opened this window).
        used = dict(s.execute(
            select(OutboxMessage.openid, func.count())
            .join(WechatIdentity, WechatIdentity.openid == OutboxMessage.openid)
            .where(OutboxMessage.openid.in_(openids), OutboxMessage.status == "sent",
                   OutboxMessage.channel == "custom", WechatIdentity.last_inbound_at.is_not(None),
                   OutboxMessage.sent_at >= WechatIdentity.last_inbound_at)
            .group_by(OutboxMessage.openid)
        ).all())
    for openid in openids:
        ident = idents.get(openid)
        if ident is None:
            out[openid] = Recipient(openid, None, False, 0, False, None)
            continue
        open_ = ident.last_inbound_at is not None and now - ident.last_inbound_at < WINDOW
        left = max(0, quota - int(used.get(openid, 0))) if open_ else 0
        gone = ident.unreachable or not ident.subscribed
        out[openid] = Recipient(openid, ident.id, open_, left, gone,
                                ident.unreachable_reason or ("已取消关注" if not ident.subscribed else None))
    return out


def template_for(lx: Lianxin, msg: OutboxMessage) -> tuple[str, dict[str, Any]] | None:
    template_id = lx.config[f"wechat.templates.{msg.kind}"]["id"]
    if not template_id:
        return None
    payload = msg.payload or {}
    fields = payload.get("template") or {}
    text = payload.get("text", "")
    first_line, _, rest = text.partition("\n")
    values = {
        "first": fields.get("first", first_line),
        "keyword1": fields.get("keyword1", first_line[:20]),
        "keyword2": fields.get("keyword2", ""),
        "remark": fields.get("remark", rest.strip()[:200]),
    }
    values.update({k: v for k, v in fields.items() if k not in values})
    return template_id, {k: {"value": str(v)} for k, v in values.items()}


def merge(lx: Lianxin, msgs: list[OutboxMessage], claim_id: str) -> OutboxMessage:
    """Turn several pending messages for one person into one digest carried by the first row."""
    carrier, rest = msgs[0], msgs[1:]
    items = [(m.payload or {}).get("text", "") for m in msgs]
    digest = render("digest", items=items)
    payload = dict(carrier.payload or {})
    payload.update({"text": digest, "original_text": items[0], "merged": [m.id for m in rest],
                    "merged_keys": [m.idempotency_key for m in rest], "template": None})
    with lx.session() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == carrier.id, OutboxMessage.claimed_by == claim_id)
                  .values(payload=payload).execution_options(synchronize_session=False))
        s.execute(update(OutboxMessage)
                  .where(OutboxMessage.id.in_([m.id for m in rest]), OutboxMessage.claimed_by == claim_id)
                  .values(status="merged", merged_into=carrier.id, claimed_until=None)
                  .execution_options(synchronize_session=False))
    carrier.payload = payload
    return carrier

