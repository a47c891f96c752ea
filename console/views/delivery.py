"""推送问题: unreachable recipients and failed pushes (reminders/delivery.py), with a retry button."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template
from sqlalchemy import select

from console.access import admin_only, db, done, now, user
from console.web import bp
from reminders import delivery as delivery_svc
from storage.models import WechatIdentity


@bp.get("/delivery")
@admin_only
def delivery() -> Any:
    with db() as s:
        unreachable = list(s.scalars(select(WechatIdentity).where(WechatIdentity.unreachable.is_(True))
                                     .order_by(WechatIdentity.id.desc()).limit(200)))
        failed = delivery_svc.list_outbox(s, failed_only=True, limit=200)
        counts = delivery_svc.outbox_counts(s)
        idents = {i.openid: i for i in s.scalars(select(WechatIdentity).where(
            WechatIdentity.openid.in_([m.openid for m in failed])))} if failed else {}
        return render_template("delivery.html", unreachable=unreachable, failed=failed,
                               counts=counts, idents=idents)


@bp.post("/delivery/<int:message_id>/retry")
@admin_only
def delivery_retry(message_id: int) -> Any:
    with db() as s:
        try:
            delivery_svc.retry(s, message_id, now=now(), actor=user().actor)
        except ValueError as e:
            abort(400, description=str(e))
    return done(f"消息 {message_id} 已重新排队发送。", "console.delivery")
