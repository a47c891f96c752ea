"""推送问题: delivery held by an account-level fault (why, what to do, resume), unreachable recipients and
failed pushes (reminders/delivery.py, reminders/holds.py), with a retry button."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from console import push_links
from console.access import db, deployment_only, done, lx, now, record, user
from reminders import delivery as delivery_svc
from reminders import holds
from reminders.idle import why_idle
from storage.models import DeliveryHold, WechatIdentity
from storage.push_links import recent_links

bp = Blueprint("delivery", __name__)


@bp.get("/delivery")
@deployment_only
def delivery() -> Any:
    with db() as s:
        unreachable = list(
            s.scalars(
                select(WechatIdentity)
                .where(WechatIdentity.unreachable.is_(True))
                .order_by(WechatIdentity.id.desc())
                .limit(200)
            )
        )
        failed = delivery_svc.list_outbox(s, failed_only=True, limit=200)
        expired = delivery_svc.list_outbox(s, status="expired", limit=100)
        refused = delivery_svc.list_outbox(s, status="refused", limit=100)
        counts = delivery_svc.outbox_counts(s)
        idents = (
            {
                i.openid: i
                for i in s.scalars(
                    select(WechatIdentity).where(
                        WechatIdentity.openid.in_([m.openid for m in failed + expired + refused])
                    )
                )
            }
            if failed or expired or refused
            else {}
        )
        held = [(h, *holds.describe(h)) for h in s.scalars(select(DeliveryHold).order_by(DeliveryHold.scope))]
        return render_template(
            "delivery.html",
            unreachable=unreachable,
            failed=failed,
            expired=expired,
            refused=refused,
            counts=counts,
            idents=idents,
            held=held,
            idle=why_idle(lx()),
            links=push_links.link_rows(s, recent_links(s, limit=50), now()),
        )


@bp.post("/delivery/resume")
@deployment_only
def delivery_resume() -> Any:
    """The cause is fixed: probe every held kind at the next dispatch (as ``lianxin outbox --resume``)."""
    n = holds.resume_now(lx(), now())
    with db() as s:
        record(s, "outbox.resume", None, holds=n)
    return done(
        "已安排立即试投；若原因已消除，投递会自动恢复。" if n else "没有暂停的投递。",
        "console.delivery.delivery",
    )


@bp.post("/delivery/<int:message_id>/retry")
@deployment_only
def delivery_retry(message_id: int) -> Any:
    with db() as s:
        try:
            delivery_svc.retry(s, message_id, now=now(), actor=user().actor)
        except ValueError as e:
            abort(400, description=str(e))
    return done(f"消息 {message_id} 已重新排队发送。", "console.delivery.delivery")
