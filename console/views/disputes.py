"""矛盾调解 in the console: the list of disputes, and on a request's page (console/templates/_dispute.html, which
request.html includes) marking it a dispute, its parties (households chosen by search within what the user sees),
dated mediation steps and the outcome. The rules are storage/disputes.py's, shared with the cadre's `调解 M`;
every change is audited. Writers only (a village account: its own village's requests)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from console.access import db, done, in_scope, now, record, user, writers
from console.views import common
from storage import disputes
from storage.models import Dispute, Household, VillagerRequest

bp = Blueprint("disputes", __name__)

OUTCOME_FILTERS = {"open": "调解中", **disputes.OUTCOMES}


@bp.get("/disputes")
def disputes_list() -> Any:
    """Every dispute the user sees, newest first; filters: outcome (or still open), village."""
    a = request.args
    with db() as s:
        stmt = (
            select(Dispute)
            .join(VillagerRequest, VillagerRequest.id == Dispute.request_id)
            .join(Household, Household.id == VillagerRequest.household_id)
            .options(
                joinedload(Dispute.request)
                .joinedload(VillagerRequest.household)
                .joinedload(Household.village),
                joinedload(Dispute.cadre),
            )
            .order_by(Dispute.marked_at.desc(), Dispute.id.desc())
        )
        stmt = common.scope_households(stmt)
        outcome = a.get("outcome", "")
        if outcome == "open":
            stmt = stmt.where(Dispute.outcome.is_(None))
        elif outcome in disputes.OUTCOMES:
            stmt = stmt.where(Dispute.outcome == outcome)
        if a.get("village", type=int):
            stmt = stmt.where(Household.village_id == a.get("village", type=int))
        rows, page, more = common.paged(s, stmt)
        return render_template(
            "disputes.html",
            rows=rows,
            page=page,
            more=more,
            f=a,
            outcomes=OUTCOME_FILTERS,
            villages=common.villages(s),
            args=common.query_args(),
        )


def panel(s: Session, r: VillagerRequest) -> dict[str, Any]:
    """What the request's page shows of its dispute (request.html includes _dispute.html with it): the dispute or
    None, its parties (a household the user may not see is shown without its name), its steps, and — when the
    office searched for a party (``party_q``) — the households found within the user's scope."""
    d = disputes.of_request(s, r.id)
    q = (request.args.get("party_q") or "").strip()
    found: list[Household] = []
    if d is not None and q and user().can_write:
        found = disputes.search_households(
            s,
            query=q,
            township_id=r.household.village.township_id,
            village_ids=[user().village_id or 0] if user().role == "village" else None,
        )
    return {
        "dispute": d,
        "parties": [(p.household, user().sees_village(p.household.village_id)) for p in d.parties]
        if d is not None
        else [],
        "outcomes": disputes.OUTCOMES,
        "party_q": q,
        "found": found,
        "today": common.today(),
    }


def _request(s: Session, number: int) -> VillagerRequest:
    r = s.scalar(select(VillagerRequest).where(VillagerRequest.number == number))
    if r is None:
        abort(404)
    in_scope(r.household.village_id)
    return r


def _dispute(s: Session, r: VillagerRequest) -> Dispute:
    d = disputes.of_request(s, r.id)
    if d is None:
        abort(400, description=f"第{r.number}号诉求还不是矛盾调解，请先标记")
    return d


def _back(message: str, number: int) -> Any:
    return done(message, "console.villager_requests.request_detail", number=number)


def _day(value: str | None) -> date:
    try:
        return date.fromisoformat((value or "").strip()) if value else common.today()
    except ValueError:
        abort(400, description="日期应写作 YYYY-MM-DD")


@bp.post("/requests/<int:number>/dispute")
@writers
def dispute_mark(number: int) -> Any:
    with db() as s:
        r = _request(s, number)
        _d, marked = disputes.mark(s, request=r, by=f"office:{user().username}", now=now())
        if marked:
            record(s, "dispute.mark", f"request:{number}")
    return _back("已标为矛盾调解。" if marked else "该诉求已在调解中。", number)


@bp.post("/requests/<int:number>/dispute/unmark")
@writers
def dispute_unmark(number: int) -> Any:
    with db() as s:
        r = _request(s, number)
        try:
            disputes.unmark(s, dispute=_dispute(s, r))
        except disputes.DisputeError as e:
            abort(400, description=str(e))
        record(s, "dispute.unmark", f"request:{number}")
    return _back("已取消矛盾调解标记。", number)


@bp.post("/requests/<int:number>/dispute/parties")
@writers
def dispute_party_add(number: int) -> Any:
    household_id = request.form.get("household_id", type=int)
    with db() as s:
        r = _request(s, number)
        d = _dispute(s, r)
        h = s.get(Household, household_id) if household_id else None
        if h is None:
            abort(400, description="请选择一户农户")
        in_scope(h.village_id)
        try:
            added = disputes.add_party(s, dispute=d, household=h, by=f"office:{user().username}", now=now())
        except disputes.DisputeError as e:
            abort(400, description=str(e))
        if added:
            record(s, "dispute.party", f"request:{number}", household=h.id, added=True)
        name = h.head_name
    return _back(f"已添加当事人 {name}。" if added else f"{name} 已是当事人。", number)


@bp.post("/requests/<int:number>/dispute/parties/<int:household_id>/remove")
@writers
def dispute_party_remove(number: int, household_id: int) -> Any:
    with db() as s:
        r = _request(s, number)
        d = _dispute(s, r)
        h = s.get(Household, household_id)
        if h is not None:
            in_scope(h.village_id)
        try:
            removed = disputes.remove_party(s, dispute=d, household_id=household_id)
        except disputes.DisputeError as e:
            abort(400, description=str(e))
        if removed:
            record(s, "dispute.party", f"request:{number}", household=household_id, added=False)
    return _back("已移除该当事人。" if removed else "没有改动。", number)


@bp.post("/requests/<int:number>/dispute/steps")
@writers
def dispute_step(number: int) -> Any:
    day = _day(request.form.get("day"))
    if day > common.today():
        abort(400, description="调解日期不能晚于今天")
    with db() as s:
        r = _request(s, number)
        d = _dispute(s, r)
        try:
            step = disputes.add_step(
                s,
                dispute=d,
                day=day,
                text=request.form.get("text", ""),
                author=f"office:{user().username}",
                now=now(),
            )
        except disputes.DisputeError as e:
            abort(400, description=str(e))
        record(s, "dispute.step", f"request:{number}", step=step.id, day=day.isoformat())
    return _back("已记录调解经过。", number)


@bp.post("/requests/<int:number>/dispute/outcome")
@writers
def dispute_outcome(number: int) -> Any:
    day = _day(request.form.get("day"))
    outcome = request.form.get("outcome", "")
    with db() as s:
        r = _request(s, number)
        d = _dispute(s, r)
        try:
            disputes.set_outcome(
                s,
                dispute=d,
                outcome=outcome,
                day=day,
                note=request.form.get("note"),
                by=f"office:{user().username}",
            )
        except disputes.DisputeError as e:
            abort(400, description=str(e))
        record(s, "dispute.outcome", f"request:{number}", outcome=outcome, day=day.isoformat())
    return _back(f"已记录调解结果：{disputes.OUTCOMES[outcome]}。", number)
