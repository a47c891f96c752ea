"""Choosing the channel per recipient: the 48-hour window, its customer-service quota, template or digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from reminders.render import render
from reminders.template_values import template_data, values_of
from storage.models import OutboxMessage, WechatIdentity
from storage.outbox import push_time
from storage.push_links import create_link, create_links
from storage.reachability import refuses_messages
from storage.runtime import Lianxin
from storage.timestamps import utcnow


@dataclass
class Recipient:
    openid: str
    identity_id: int | None
    window_open: bool
    quota_left: int
    unreachable: bool
    reason: str | None
    refuses: bool = False  # still follows but switched off messages: pushes wait until they write again


def recipients(lx: Lianxin, openids: list[str], now: datetime) -> dict[str, Recipient]:
    """Each person's window as WeChat counts it (bot.dispatch stores it with the message that opened it):
    open until ``window_until``, ``window_quota`` customer-service messages (5 after a user's message, 3 after a
    follow, scan or menu click), less those already sent since it opened."""
    cap = lx.config["wechat"]["custom_quota_per_window"]
    out: dict[str, Recipient] = {}
    with lx.sessions() as s:
        idents = {
            i.openid: i for i in s.scalars(select(WechatIdentity).where(WechatIdentity.openid.in_(openids)))
        }
        # Customer-service messages already sent since the action that opened this window.
        used = dict(
            s.execute(
                select(OutboxMessage.openid, func.count())
                .join(WechatIdentity, WechatIdentity.openid == OutboxMessage.openid)
                .where(
                    OutboxMessage.openid.in_(openids),
                    OutboxMessage.status == "sent",
                    OutboxMessage.channel == "custom",
                    WechatIdentity.window_opened_at.is_not(None),
                    OutboxMessage.sent_at >= WechatIdentity.window_opened_at,
                )
                .group_by(OutboxMessage.openid)
            ).all()
        )
    for openid in openids:
        ident = idents.get(openid)
        if ident is None:
            out[openid] = Recipient(openid, None, False, 0, False, None)
            continue
        open_ = ident.window_until is not None and now < ident.window_until
        left = max(0, min(cap, ident.window_quota or 0) - int(used.get(openid, 0))) if open_ else 0
        gone = ident.unreachable or not ident.subscribed
        out[openid] = Recipient(
            openid,
            ident.id,
            open_,
            left,
            gone,
            ident.unreachable_reason or ("已取消关注" if not ident.subscribed else None),
            refuses_messages(ident),
        )
    return out


def template_for(lx: Lianxin, msg: OutboxMessage) -> tuple[str, dict[str, Any]] | None:
    """(template id, data) for this push: its named values on the kind's configured keys; None = no template."""
    table = lx.config[f"wechat.templates.{msg.kind}"]
    if not table["id"]:
        return None
    values = values_of(msg.kind, msg.payload or {})
    values.setdefault("time", push_time(msg.created_at or utcnow(), lx.config.tz))
    return table["id"], template_data(table["fields"], values)


def merge(lx: Lianxin, msgs: list[OutboxMessage], claim_id: str) -> OutboxMessage:
    """Turn several pending messages for one person into one digest carried by the first row."""
    carrier, rest = msgs[0], msgs[1:]
    items = [(m.payload or {}).get("text", "") for m in msgs]
    digest = render("digest", items=items)
    payload = dict(carrier.payload or {})
    payload.update(
        {
            "text": digest,
            "original_text": items[0],
            "merged": [m.id for m in rest],
            "merged_keys": [m.idempotency_key for m in rest],
            "template": None,
        }
    )
    with lx.session() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == carrier.id, OutboxMessage.claimed_by == claim_id)
            .values(payload=payload)
            .execution_options(synchronize_session=False)
        )
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([m.id for m in rest]), OutboxMessage.claimed_by == claim_id)
            .values(status="merged", merged_into=carrier.id, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    carrier.payload = payload
    return carrier


def make_links(lx: Lianxin, msgs: list[OutboxMessage], now: datetime) -> dict[int, str]:
    """outbox id -> its link, for a batch's template messages in one transaction rather than one each."""
    out: dict[int, str] = {}
    if not msgs:
        return out
    base = lx.config.public_url
    with lx.session() as s:
        tokens = create_links(
            s,
            [{"outbox_id": m.id, "openid": m.openid, "kind": m.kind, "payload": m.payload} for m in msgs],
            now=now,
            days=lx.config["wechat"]["push_link_days"],
        )
    for m, token in zip(msgs, tokens, strict=True):
        out[m.id] = f"{base}/m/{token}"
    return out


def link_for(lx: Lianxin, m: OutboxMessage, now: datetime) -> str:
    """``public_url``/m/<token>: the whole message behind the template's short fields (storage.push_links)."""
    with lx.session() as s:
        token = create_link(
            s,
            outbox_id=m.id,
            openid=m.openid,
            kind=m.kind,
            payload=m.payload or {},
            now=now,
            days=lx.config["wechat"]["push_link_days"],
        )
    return f"{lx.config.public_url}/m/{token}"
