"""The household register without re-importing, on the console (issue 24 item 4): the office adds a household
(新增农户: a card number drawn as every card's) and closes one (销户, with a reason and a day: its card links no
more, its accounts are unlinked and told). The rules are storage/register.py's, as for ``lianxin household add``
and ``household close``; both audited there. A household's cadre is changed on its own page
(console/views/households.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from console.access import (
    admin_only,
    cadre_in_scope,
    db,
    done,
    get_in_scope,
    in_scope,
    lx,
    now,
    record,
    user,
)
from console.views import common
from handlers import household_notices
from storage import household_tags, register
from storage.models import Cadre, Household, Village

bp = Blueprint("household_register", __name__)


@bp.get("/households/new")
@admin_only
def household_new() -> Any:
    with db() as s:
        cadres = list(
            s.scalars(common.scope_cadres(select(Cadre).where(Cadre.active.is_(True))).order_by(Cadre.name))
        )
        return render_template(
            "household_new.html", villages=common.villages(s), cadres=cadres, reasons=register.REASONS
        )


@bp.post("/households/new")
@admin_only
def household_add() -> Any:
    f = request.form
    size = (f.get("size") or "").strip()
    if not size.isdigit():
        abort(400, description="家庭人口应为不小于 0 的整数")
    with db() as s:
        v = s.get(Village, f.get("village_id", type=int) or 0)
        if v is None:
            abort(400, description="请选择村(居)")
        in_scope(v.id)
        c = s.get(Cadre, f.get("cadre_id", type=int) or 0)
        cadre_in_scope(c)
        assert c is not None  # cadre_in_scope: 404 for none
        new = register.NewHousehold(
            village=v.name,
            group=f.get("group", ""),
            head=f.get("head", ""),
            phone=f.get("phone", ""),
            size=int(size),
            cadre_phone=c.phone,
        )
        try:
            h = register.add_household(s, new, township_id=v.township_id, actor=user().actor, now=now())
        except register.RegisterError as e:
            abort(400, description=str(e))
        number, hid = h.card.number if h.card else "", h.id
    return done(f"已新增农户，服务卡号 {number}。", "console.households.household", household_id=hid)


@bp.post("/households/<int:household_id>/tags")
@admin_only
def household_tags_save(household_id: int) -> Any:
    """重点人群 tags (storage/household_tags.py): the office's only, audited."""
    try:
        tags = household_tags.parse(request.form.get("tags", ""))
    except household_tags.TagError as e:
        abort(400, description=str(e))
    with db() as s:
        h: Household = get_in_scope(s, Household, household_id)
        old = household_tags.tags_of(s, [h.id]).get(h.id, [])
        if household_tags.replace(s, {h.id: tags}, actor=user().actor, now=now()):
            record(s, "household.tags", f"household:{h.id}", old=old, new=tags)
            message = "已保存重点人群标签。"
        else:
            message = "没有改动。"
    return done(message, "console.households.household", household_id=household_id)


@bp.post("/households/<int:household_id>/close")
@admin_only
def household_close(household_id: int) -> Any:
    f = request.form
    with db() as s:
        h: Household = get_in_scope(s, Household, household_id)
        tz = lx().config.tz
        raw = (f.get("date") or "").strip()
        try:
            on = date.fromisoformat(raw) if raw else now().astimezone(tz).date()
        except ValueError:
            abort(400, description="销户日期应写作 YYYY-MM-DD")
        try:
            closed = register.close_household(
                s, h, reason=f.get("reason", ""), on=on, actor=user().actor, now=now(), tz=tz
            )
        except register.RegisterError as e:
            abort(400, description=str(e))
        told = household_notices.tell_closed(s, closed, tz=tz)
        n = len(closed.unlinked)
    return done(
        f"已销户；解除了 {n} 个微信账号的关联，已通知 {told} 个。",
        "console.households.household",
        household_id=household_id,
    )
