"""The WeChat accounts linked to a household (masked openid, when, how) and unlinking one of them from the
console: scope as every household action (a village account only in its village), CSRF, audited; the
unlinked account is told, as when the cadre sends `解绑 卡号`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from console.access import db, done, get_in_scope, now, record, writers
from storage import cards
from storage.models import Household, WechatIdentity
from storage.outbox import enqueue
from storage.push_links import revoke_links_for

bp = Blueprint("household_accounts", __name__)


@bp.post("/households/<int:household_id>/unlink")
@writers
def household_unlink(household_id: int) -> Any:
    identity_id = request.form.get("identity_id", type=int)
    with db() as s:
        h: Household = get_in_scope(s, Household, household_id)
        ident = s.get(WechatIdentity, identity_id) if identity_id else None
        if ident is None or ident.kind != "villager" or ident.household_id != h.id:
            abort(400, description="该微信账号没有关联这户（可能已被解除），未作改动。")
        via, masked = ident.bound_via, cards.mask_openid(ident.openid)
        cards.unlink(s, ident)
        revoke_links_for(ident.openid, session=s, now=now())  # its pages of earlier pushes die
        text = render_template("push/unlinked_by_office.txt", household=h).strip()
        enqueue(
            s,
            openid=ident.openid,
            kind="notice",
            text=text,
            key=f"unlink:h{h.id}:i{ident.id}:{now().isoformat()}",
        )
        record(s, "household.unlink", f"household:{h.id}", account=masked, via=via, by="console")
    return done(
        f"已解除微信账号 {masked} 与该户的关联，并已通知该账号。",
        "console.households.household",
        household_id=household_id,
    )
