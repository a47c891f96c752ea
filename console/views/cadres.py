"""干部: list and search; a cadre's page (diary calendar, households, cards, requests, binding, bind code)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from console.access import admin_only, db, get_in_scope, lx, now, user
from console.views import common
from console.views.cadre_changes import CHANGE_ZH, changes_of, successors
from handlers.render import mask_phone
from storage import cadres as cadre_svc
from storage.accounts import BindError, binding_history, issue_bind_code
from storage.models import (
    BindCode,
    Cadre,
    DiaryEntry,
    Household,
    Link,
    MonthlySummary,
    TaskAssignment,
    Village,
    VillagerRequest,
    WechatIdentity,
)
from storage.reachability import unreachable_cadres
from storage.register import in_programme

bp = Blueprint("cadres", __name__)


@bp.get("/cadres")
def cadres() -> Any:
    q = (request.args.get("q") or "").strip()
    village_id = request.args.get("village", type=int)
    with db() as s:
        stmt = (
            common.scope_cadres(select(Cadre))
            .options(joinedload(Cadre.village))
            .order_by(Cadre.name, Cadre.id)
        )
        if q:
            stmt = stmt.where(common.text_filter(q, Cadre.name, Cadre.phone, Cadre.post, Cadre.unit))
        if village_id:
            stmt = stmt.where(Cadre.village_id == village_id)
        exporting = common.wants_xlsx()
        if exporting:
            rows, page, more = list(s.scalars(stmt.limit(common.EXPORT_LIMIT))), 1, False
        else:
            rows, page, more = common.paged(s, stmt)
        ids = [c.id for c in rows]
        households = cadre_svc.households_looked_after(s, ids)
        bound = cadre_svc.bound_cadres(s, ids)
        unreachable = unreachable_cadres(s, ids)  # their WeChat gets nothing: requests go to the office
        if exporting:
            return _cadres_xlsx(rows, households, bound)
        return render_template(
            "cadres.html",
            total=common.total(s, stmt),
            unreachable=unreachable,
            rows=rows,
            page=page,
            more=more,
            q=q,
            village_id=village_id,
            villages=common.villages(s),
            households=households,
            bound=bound,
            args=common.query_args(),
        )


def _cadre(s: Any, cadre_id: int) -> Cadre:
    return get_in_scope(s, Cadre, cadre_id)


def _cadres_xlsx(rows: list[Cadre], households: dict[int, int], bound: set[int]) -> Any:
    return common.xlsx_download(
        "干部名单",
        ["姓名", "电话", "岗位", "单位", "村(居)", "联系户数", "微信"],
        [
            [
                c.name,
                mask_phone(c.phone),
                c.post or "",
                c.unit or "",
                c.village.name if c.village else "",
                households.get(c.id, 0),
                "已绑定" if c.id in bound else "未绑定",
            ]
            for c in rows
        ],
        action="cadres.export",
        target="cadres",
    )


@bp.get("/cadres/<int:cadre_id>")
def cadre(cadre_id: int) -> Any:
    today = common.today()
    first, last = _month_asked(today)
    with db() as s:
        c = _cadre(s, cadre_id)
        return render_template(
            "cadre.html",
            c=c,
            unreachable=unreachable_cadres(s, [c.id]).get(c.id),
            first=first,
            today=today,
            **_diary_month(s, c, first, last),
            **_work(s, c),
            **_accounts(s, c),
            full=user().sees_full(c.village_id),
            # the office's changes (console/views/cadre_changes.py): who may take over, what was changed
            successors=successors(s, c) if user().is_admin and c.active else [],
            changes=changes_of(s, c.id),
            change_zh=CHANGE_ZH,
            prev=(first - timedelta(days=1)).replace(day=1),
            nxt=last + timedelta(days=1),
            now=now(),
        )


def _month_asked(today: date) -> tuple[date, date]:
    """(first, last) day of the month in ``?month=YYYY-MM``; this month when it is missing or unreadable."""
    try:
        y, m = (int(x) for x in (request.args.get("month") or f"{today.year}-{today.month}").split("-"))
        first = date(y, m, 1)
    except ValueError:
        first = today.replace(day=1)
    return first, date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])


def _diary_month(s: Any, c: Cadre, first: date, last: date) -> dict[str, Any]:
    """The diary calendar of the month: the weeks, the days with an entry, the month's summary."""
    days = set(
        s.scalars(
            select(DiaryEntry.day).where(
                DiaryEntry.cadre_id == c.id,
                DiaryEntry.deleted_at.is_(None),
                DiaryEntry.day >= first,
                DiaryEntry.day <= last,
            )
        )
    )
    summary = s.scalar(
        select(MonthlySummary).where(
            MonthlySummary.cadre_id == c.id, MonthlySummary.month == f"{first.year:04d}-{first.month:02d}"
        )
    )
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    return {"weeks": weeks, "days": days, "summary": summary}


def _work(s: Any, c: Cadre) -> dict[str, Any]:
    """The cadre's households, their latest 50 cards (with each one's light) and latest 50 requests."""
    households = list(
        s.scalars(
            select(Household)
            .join(Link)
            .where(Link.cadre_id == c.id, in_programme())
            .options(joinedload(Household.card), joinedload(Household.link))
            .order_by(Household.head_name)
        )
    )
    assignments = list(
        s.scalars(
            select(TaskAssignment)
            .where(TaskAssignment.cadre_id == c.id)
            .options(joinedload(TaskAssignment.task))
            .order_by(TaskAssignment.deadline.desc())
            .limit(50)
        )
    )
    reqs = list(
        s.scalars(
            select(VillagerRequest)
            .where(VillagerRequest.cadre_id == c.id)
            .options(joinedload(VillagerRequest.household))
            .order_by(VillagerRequest.created_at.desc())
            .limit(50)
        )
    )
    lights = {a.id: common.light(a) for a in assignments}
    return {"households": households, "assignments": assignments, "lights": lights, "reqs": reqs}


def _accounts(s: Any, c: Cadre) -> dict[str, Any]:
    """The cadre's bound WeChat account(s), their latest five binding codes, their binding history."""
    identities = list(
        s.scalars(
            select(WechatIdentity).where(WechatIdentity.cadre_id == c.id, WechatIdentity.kind == "cadre")
        )
    )
    codes = list(
        s.scalars(
            select(BindCode).where(BindCode.cadre_id == c.id).order_by(BindCode.created_at.desc()).limit(5)
        )
    )
    return {"identities": identities, "codes": codes, "bindings": binding_history(s, c.id)}


@bp.post("/cadres/<int:cadre_id>/bind-code")
@admin_only  # a binding code takes over the cadre's WeChat role: the office's alone (issue 21)
def cadre_bind_code(cadre_id: int) -> Any:
    with db() as s:
        c = _cadre(s, cadre_id)
        try:
            code, c, expires = issue_bind_code(
                s,
                phone=c.phone,
                actor=user().actor,
                now=now(),
                configured_secret=lx().config.console.secret_key,
                hours=lx().config.general.bind_code_hours,
            )
        except BindError as e:
            abort(400, description=str(e))
        village = s.get_one(Village, c.village_id).name if c.village_id else ""
        # a cadre already bound: binding with this code moves their role to the account that sends it
        bound = s.scalar(
            select(func.count())
            .select_from(WechatIdentity)
            .where(WechatIdentity.cadre_id == c.id, WechatIdentity.kind == "cadre")
        )
        return render_template(
            "bind_slip.html",
            c=c,
            code=code,
            expires=expires,
            village=village,
            account=lx().config.general.account_name,
            bound=bool(bound),
        )
