"""微信认证 events about the account itself, sent by WeChat's system account: the office is told (a push to each
office account), since a lapsed 认证 stops template messages, QR codes and customer-service messages.

- ``annual_renew`` (年审通知): 认证 expires at ``ExpiredTime``, renew (年审) before then;
- ``verify_expired`` (认证过期失效通知): 认证 has expired, the interfaces that need it answer 48001 until renewed;
- ``qualification_verify_success`` (资质认证成功): the interfaces are available (again): reprint the service cards
  printed without codes meanwhile.
Source: 微信认证事件推送, https://developers.weixin.qq.com/doc/service/guide/product/Accreditation.html
(docs/wechat-rules.md §9). Each event is told once (the outbox key holds the event and its time).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from handlers.base import Context, Message, Route, Router, anyone
from storage.tasks import office_recipients

EVENTS = ("annual_renew", "verify_expired", "qualification_verify_success")


def _verification_event(ctx: Context, msg: Message) -> dict[str, Any] | None:
    return {} if msg.kind == "event" and msg.event in EVENTS else None


def _expiry(ctx: Context, msg: Message) -> str | None:
    raw = (msg.raw.get("ExpiredTime") or "").strip()
    try:
        moment = datetime.fromtimestamp(int(raw), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return f"{moment.astimezone(ctx.config.tz):%Y年%m月%d日}"


def tell_office(ctx: Context, msg: Message) -> None:
    text = ctx.render("account_verification", event=msg.event, expires=_expiry(ctx, msg))
    when = int(msg.create_time.timestamp())
    for openid in office_recipients(ctx.session, ctx.config.scheduler.office_openids):
        ctx.outbox.enqueue(openid, "notice", text, key=f"account:{msg.event}:{when}:{openid}")
    return None  # WeChat's system account reads no reply


router = Router(
    "account_events",
    anyone,
    (Route("account_events.verification", _verification_event, tell_office),),
)
