"""What needs the office, for the dashboard and the reports page: a period that has ended and can be published
(and whether it has been), leave waiting for a decision, why nothing is sent (reminders/idle.py), and the first
steps of a fresh deployment, each ticked when done.
Plain functions of the signed-in user's scope; the pages render what they return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.access import lx, user
from console.views import common
from reminders import delivery
from reminders.idle import why_idle
from storage import circulars, townships
from storage.models import (
    AuditLog,
    BindCode,
    Cadre,
    CadreLeave,
    Household,
    InboundMessage,
    PrintOrder,
    Township,
)
from storage.periods import Period, parse_period, previous_month


def publishing_township(s: Session) -> tuple[int, str] | None:
    """The township whose circular the user publishes (their own, or the deployment's only one); None where the
    user publishes none (not an admin, the county's accounts in a county, nothing imported)."""
    u = user()
    if not u.is_admin:
        return None
    if u.township_id is not None:
        return u.township_id, u.township_name or ""
    if townships.is_county(s):
        return None
    only = list(s.execute(select(Township.id, Township.name).order_by(Township.id).limit(2)).tuples())
    return only[0] if len(only) == 1 else None


def publish_state(s: Session, period: Period, today: date) -> str | None:
    """For the reports page's button: "ready" (ended, not yet published), "published", "open" (not ended: no
    button, a note), or None (this user publishes nothing here)."""
    where = publishing_township(s)
    if where is None:
        return None
    if not period.ended(today):
        return "open"
    return "published" if circulars.is_published(s, period.kind, period.key, where[0]) else "ready"


def publish_prompt(s: Session) -> str | None:
    """The last ended month, when it is not yet published by the user's township ("2026-11 可以发布了")."""
    today = common.today()
    last = parse_period("month", previous_month(today).strftime("%Y-%m"))
    where = publishing_township(s)
    if where is None:
        return None
    # a month before anyone was imported has nothing to publish
    first = s.scalar(select(func.min(Cadre.created_at)).where(Cadre.township_id == where[0]))
    if first is None or first >= last.utc_range(lx().config.tz)[1]:
        return None
    return last.key if publish_state(s, last, today) == "ready" else None


def pending_leave(s: Session) -> int:
    """Leave asked for in chat and not yet decided, among the cadres the user sees (the office decides it)."""
    if not user().is_admin:
        return 0
    stmt = common.scope_cadres(
        select(func.count(CadreLeave.id)).join(Cadre, Cadre.id == CadreLeave.cadre_id)
    ).where(CadreLeave.status == "requested")
    return int(s.scalar(stmt) or 0)


@dataclass(frozen=True)
class Step:
    """One first step of a fresh deployment: what to do, whether it is done, where to do it."""

    label: str
    done: bool
    url: str | None
    hint: str


def first_steps(s: Session) -> list[Step] | None:
    """The first steps (import → bind codes → print cards → check the account), each ticked when done; None once
    all are done, or for an account that does none of them."""
    u = user()
    if not u.is_admin:
        return None
    cadres = common.scope_cadres(select(Cadre.id))
    households = select(Household.id).limit(1)
    villages = common.township_villages()
    if villages is not None:
        households = households.where(Household.village_id.in_(villages))
    imported = s.scalar(households) is not None
    bound = s.scalar(select(BindCode.id).where(BindCode.cadre_id.in_(cadres)).limit(1)) is not None
    printed = (
        s.scalar(select(PrintOrder.id).where(PrintOrder.kind == "cards", _township(PrintOrder)).limit(1))
        is not None
        or s.scalar(select(AuditLog.id).where(AuditLog.action == "cards.print").limit(1)) is not None
    )
    heard = s.scalar(select(InboundMessage.id).limit(1)) is not None
    connected = delivery.configured(lx()) and heard
    steps = [
        Step(
            "导入联户名单",
            imported,
            url_for("console.importing.import_form"),
            "上传县里下发的联户名单（Excel）。",
        ),
        Step(
            "给干部生成绑定码",
            bound,
            url_for("console.cadres.cadres"),
            "在干部页生成绑定码，干部在公众号里发送绑定码完成绑定。",
        ),
        Step(
            "打印便民服务卡",
            printed,
            url_for("console.printing.print_index"),
            "按村打印服务卡，由联户干部送到各户。",
        ),
        Step(
            "检查公众号",
            connected,
            url_for("console.delivery.delivery") if u.runs_deployment else None,
            "在配置中填写 AppID、AppSecret，运行 lianxin wechat check；有人在公众号里发过消息后自动打勾。",
        ),
    ]
    return None if all(step.done for step in steps) else steps


def _township(model: Any) -> Any:
    tid = user().township_id
    return model.township_id == tid if tid is not None else model.id.is_not(None)


def office_todo(s: Session) -> dict[str, Any]:
    """The dashboard's "needs you" box (console/templates/_office_todo.html)."""
    return {
        "publish": publish_prompt(s),
        "leave": pending_leave(s),
        "steps": first_steps(s),
        "idle": why_idle(lx()) if user().runs_deployment else [],
    }
