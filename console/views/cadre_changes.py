"""The office's changes on a cadre's page (issue 24 items 1–3): 交接 (all or chosen households to an existing or a
new cadre), 退出, 改电话, 更正姓名岗位 — the office admin's alone, each shown first on a confirmation page saying
what will happen, then done by storage/handover.py and storage/cadres.py (which audit it), as the CLI does.

Each form posts twice: without ``confirm`` it shows the confirmation (changing nothing), with ``confirm=1`` it
does the change.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select

from console.access import admin_only, db, done, get_in_scope, lx, now, user
from console.views import common
from handlers import link_notices
from storage import cadres, handover
from storage.cadres import CadreError
from storage.handover import HandoverError
from storage.models import AuditLog, Cadre, Household, Link, VillagerRequest
from storage.tasks.handover import open_cards_about

bp = Blueprint("cadre_changes", __name__)

# The audit log's actions of a cadre's changes, as the cadre page shows them (the audit page may map more).
CHANGE_ZH = {
    "cadre.add": "新建干部",
    "cadre.handover": "交接联系户",
    "cadre.retire": "退出",
    "cadre.phone": "改电话",
    "cadre.edit": "更正姓名、岗位",
}


def changes_of(s: Any, cadre_id: int) -> list[AuditLog]:
    """The audited changes of the cadre (newest first), for their page."""
    return list(
        s.scalars(
            select(AuditLog)
            .where(AuditLog.target == f"cadre:{cadre_id}", AuditLog.action.in_(list(CHANGE_ZH)))
            .order_by(AuditLog.id.desc())
            .limit(20)
        )
    )


def successors(s: Any, c: Cadre) -> list[Cadre]:
    """The cadres who may take ``c``'s households: serving, of the same township, in the user's scope."""
    return list(
        s.scalars(
            common.scope_cadres(
                select(Cadre).where(
                    Cadre.active.is_(True), Cadre.township_id == c.township_id, Cadre.id != c.id
                )
            ).order_by(Cadre.name)
        )
    )


def _confirm(c: Cadre, action: str, title: str, lines: list[str]) -> Any:
    """The confirmation page: what will happen, the form's values carried as hidden fields, 确认 and 取消."""
    carried = [
        (k, v) for k in request.form if k not in ("csrf_token", "confirm") for v in request.form.getlist(k)
    ]
    return render_template(
        "cadre_confirm.html", c=c, action=action, title=title, lines=lines, carried=carried
    )


def _successor(s: Any, c: Cadre) -> tuple[Cadre | None, list[str]]:
    """The successor chosen in the form (an existing cadre, or None with a new one's description)."""
    f = request.form
    to_id = f.get("to", type=int)
    if to_id:
        new = get_in_scope(s, Cadre, to_id)
        if new.id == c.id or not new.active or new.township_id != c.township_id:
            abort(400, description="请选择本乡镇另一名在岗干部")
        return new, []
    name, phone = f.get("new_name", "").strip(), f.get("new_phone", "").strip()
    if not name or not phone:
        abort(400, description="请选择接手干部，或填写新干部的姓名和电话")
    try:
        number = cadres.valid_phone(phone)
    except CadreError as e:
        abort(400, description=str(e))
    existing = s.scalar(select(Cadre).where(Cadre.phone == number))
    if existing is not None:
        abort(400, description=f"电话 {number} 已是干部 {existing.name} 的电话，请在列表中选择")
    return None, [f"新建干部 {name}（{number}，{f.get('new_post', '').strip() or '无岗位'}）"]


@bp.post("/cadres/<int:cadre_id>/handover")
@admin_only
def cadre_handover(cadre_id: int) -> Any:
    f = request.form
    with db() as s:
        c = get_in_scope(s, Cadre, cadre_id)
        chosen = set(f.getlist("household", type=int))
        ids = [hid for hid in handover.households_of(s, c.id) if hid in chosen]
        if not ids:
            abort(400, description="请至少选择一户")
        new, made = _successor(s, c)
        if f.get("confirm") != "1":
            return _confirm(c, "cadre_handover", "确认交接", _handover_lines(s, c, ids, new, made))
        if new is None:
            new, _ = cadres.successor(
                s,
                f["new_phone"],
                name=f.get("new_name"),
                post=f.get("new_post"),
                village=None,
                like=c,
                actor=user().actor,
            )
        try:
            handed = handover.hand_over(
                s,
                household_ids=ids,
                successor=new,
                actor=user().actor,
                now=now(),
                words=link_notices.handover_words(lx().wording(), lx().config.tz),
                config=lx().config,
            )
        except HandoverError as e:
            abort(400, description=str(e))
        return done(
            f"已将 {len(handed.households)} 户交给 {new.name}：随户转交未答复诉求 {len(handed.requests)} 条、"
            f"督办卡 {len(handed.cards)} 张，已通知农户微信 {handed.villagers_told} 个。",
            "console.cadres.cadre",
            cadre_id=new.id,
        )


def _handover_lines(s: Any, c: Cadre, ids: list[int], new: Cadre | None, made: list[str]) -> list[str]:
    """What the handover will move, for the confirmation."""
    names = list(
        s.scalars(select(Household.head_name).where(Household.id.in_(ids)).order_by(Household.head_name))
    )
    asked = (
        s.scalar(
            select(func.count())
            .select_from(VillagerRequest)
            .where(
                VillagerRequest.household_id.in_(ids),
                VillagerRequest.status == "open",
                VillagerRequest.first_answer_at.is_(None),
            )
        )
        or 0
    )
    cards = open_cards_about(s, c.id, ids, now())
    who = made[0] if made else f"交给 {new.name if new else ''}"
    return [
        who,
        f"联系户 {len(ids)} 户：{'、'.join(names)}",
        f"未答复的群众诉求 {asked} 条转给接手干部，并推送给他/她",
        f"未到期、未反馈的督办卡 {len(cards)} 张随户转交"
        + (f"（第{'、'.join(str(t.number) for t in cards)}号）" if cards else ""),
        "这些农户的服务卡需重新发放、承诺书需重新签订；已关联的农户微信会收到新干部的姓名和电话",
        f"{c.name} 以前的日记、答复、得分留在 {c.name} 名下",
    ]


@bp.post("/cadres/<int:cadre_id>/retire")
@admin_only
def cadre_retire(cadre_id: int) -> Any:
    f = request.form
    with db() as s:
        c = get_in_scope(s, Cadre, cadre_id)
        try:
            day = (
                date.fromisoformat(f.get("date", "").strip()) if f.get("date", "").strip() else common.today()
            )
        except ValueError:
            abort(400, description="退出日期应写作 YYYY-MM-DD")
        left = s.scalar(select(func.count()).select_from(Link).where(Link.cadre_id == c.id)) or 0
        if left:
            abort(400, description=f"{c.name} 还联系着 {left} 户农户，请先交接")
        if f.get("confirm") != "1":
            lines = [
                f"{c.name} 自 {day.isoformat()} 退出联户干部工作",
                "不再收到提醒、督办卡和推送，未到期的督办卡撤回；不参加以后各月的排名",
                "已绑定的微信解除绑定并收到通知，未使用的绑定码作废；以前的记录都保留",
            ]
            return _confirm(c, "cadre_retire", "确认退出", lines)
        try:
            cadres.retire(s, c, on=day, actor=user().actor, now=now(), words=link_notices.cadre_retired)
        except CadreError as e:
            abort(400, description=str(e))
        return done(f"{c.name} 已退出，记录保留。", "console.cadres.cadre", cadre_id=c.id)


@bp.post("/cadres/<int:cadre_id>/phone")
@admin_only
def cadre_phone(cadre_id: int) -> Any:
    with db() as s:
        c = get_in_scope(s, Cadre, cadre_id)
        new = request.form.get("phone", "").strip()
        try:
            number = cadres.new_phone(s, c, new)
            if request.form.get("confirm") != "1":
                lines = [f"{c.name} 的电话由 {c.phone} 改为 {number}", "联系户、微信绑定和以前的记录都保留"]
                return _confirm(c, "cadre_phone", "确认改电话", lines)
            cadres.change_phone(s, c, number, actor=user().actor)
        except CadreError as e:
            abort(400, description=str(e))
        return done(f"{c.name} 的电话已改为 {number}。", "console.cadres.cadre", cadre_id=c.id)


@bp.post("/cadres/<int:cadre_id>/edit")
@admin_only
def cadre_edit(cadre_id: int) -> Any:
    f = request.form
    with db() as s:
        c = get_in_scope(s, Cadre, cadre_id)
        name, post = f.get("name", "").strip(), f.get("post", "").strip()
        if not name:
            abort(400, description="干部姓名不能为空")
        if f.get("confirm") != "1":
            lines = [f"姓名：{c.name} → {name}", f"岗位：{c.post or '无'} → {post or '无'}"]
            return _confirm(c, "cadre_edit", "确认更正", lines)
        changed = cadres.correct(s, c, name=name, post=post, actor=user().actor)
        return done("已更正。" if changed else "没有改动。", "console.cadres.cadre", cadre_id=c.id)
