"""线下补录: what reached the office on paper or by phone — a cadre's paper diary entry (补录) and a villager's
request received by phone, visit or letter. The office enters any; a village user only their village's.
Stored and counted like their chat twins (storage/offline.py), audited; the request is made and pushed to the
cadre as a chat request is (storage/requests.py), worded by ``Lianxin.words``.

A request is entered by choosing its household — found by the head's name, phone or the card's last digits within
the user's own scope — never by typing a card number: a form that answers "no such card" for one number and
"not yours" for another would let a village account test card numbers (issue 21 item 11); searches by number are
limited per user (common.limit_number_lookups). Who hears the answer is chosen on the form: the cadre (default;
the person who phoned may have no WeChat) or one of the household's linked accounts, by its link number."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from console.access import cadre_in_scope, db, done, get_in_scope, lx, now, user, writers
from console.errors import form_error
from console.views import common
from storage import leave, offline
from storage.cards import linked_identities, number_typo
from storage.models import Cadre, DiaryEntry, Household, ServiceCard, VillagerRequest, WechatIdentity

bp = Blueprint("offline", __name__)

FOUND_MAX = 20


def _find_households(s: Any, q: str) -> list[Household]:
    """Households of the user's scope whose head's name matches ``q``, or (4 digits or more) whose phone holds
    those digits or whose card ends with them."""
    stmt = (
        common.scope_households(select(Household))
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .where(Household.purged_at.is_(None))
        .options(joinedload(Household.village), joinedload(Household.group), joinedload(Household.card))
        .order_by(Household.head_name, Household.id)
        .limit(FOUND_MAX)
    )
    digits = re.sub(r"\D", "", q)
    found = [Household.head_name.ilike(common.like(q), escape="\\")]
    if len(digits) >= 4:
        found += [Household.head_phone.like(f"%{digits}%"), ServiceCard.number.like(f"%{digits}")]
    return list(s.scalars(stmt.where(or_(*found))).unique())


@bp.get("/offline/households")
@writers
def household_choices() -> Any:
    """The households a clerk may pick (a new card's households, issue 25): the same search as the page's, by
    name, phone or the last digits of a card, of the user's scope, as JSON for the page's picker."""
    q = (request.args.get("q") or "").strip()
    if not q:
        return jsonify([])
    common.limit_number_lookups(q)
    with db() as s:
        return jsonify(
            [
                {
                    "id": h.id,
                    "label": f"{h.head_name}（{h.village.name}{h.group.name if h.group else ''}）"
                    + (f" 卡号 {h.card.number}" if h.card else ""),
                }
                for h in _find_households(s, q)
            ]
        )


@bp.get("/offline")
@writers
def offline_page() -> Any:
    q = (request.args.get("q") or "").strip()
    chosen_id = request.args.get("household", type=int)
    common.limit_number_lookups(q)
    with db() as s:
        cadres = list(
            s.scalars(common.scope_cadres(select(Cadre).where(Cadre.active.is_(True))).order_by(Cadre.name))
        )
        found = _find_households(s, q) if q else []
        chosen = get_in_scope(s, Household, chosen_id) if chosen_id else None
        if chosen is not None and chosen.purged_at is not None:
            abort(404)
        accounts = linked_identities(s, chosen.id) if chosen is not None else []
        paper = list(
            s.scalars(
                common.scope_cadres(
                    select(DiaryEntry)
                    .join(Cadre, Cadre.id == DiaryEntry.cadre_id)
                    .where(DiaryEntry.source == "paper")
                )
                .order_by(DiaryEntry.id.desc())
                .limit(20)
            )
        )
        offline_requests = list(
            s.scalars(
                common.scope_cadres(
                    select(VillagerRequest)
                    .join(Cadre, Cadre.id == VillagerRequest.cadre_id)
                    .where(VillagerRequest.channel != "wechat")
                )
                .order_by(VillagerRequest.id.desc())
                .limit(20)
            )
        )
        return render_template(
            "offline.html",
            cadres=cadres,
            q=q,
            typo=number_typo(re.sub(r"\s", "", q)),  # a card number with a wrong check digit: say so
            found=found,
            found_max=FOUND_MAX,
            chosen=chosen,
            accounts=accounts,
            paper=paper,
            requests=offline_requests,
            channels=offline.CHANNELS,
            today=common.today(),
            now_local=now().astimezone(lx().config.tz).strftime("%Y-%m-%dT%H:%M"),
        )


def _published_needs_office(s: Any, cadre: Cadre, day: date) -> None:
    """A paper diary or an offline request dated in a published period changes published figures: the office's
    (admin) alone, as leave is (storage/leave.py); a village account is refused and nothing changes."""
    periods = leave.published_periods(s, cadre, day, day)
    if periods and not user().is_admin:
        abort(
            403, description=f"{'、'.join(periods)} 的通报已经发布，补录这一时段的日记或诉求须由镇办公室办理"
        )


@bp.post("/offline/diary")
@writers
def offline_diary() -> Any:
    try:
        day = date.fromisoformat((request.form.get("day") or "").strip())
    except ValueError:
        raise form_error("日期应为 YYYY-MM-DD", field="day") from None
    with db() as s:
        cadre = s.get(Cadre, request.form.get("cadre_id", type=int) or 0)
        if cadre is None:
            abort(400, description="请选择干部")
        cadre_in_scope(cadre)
        _published_needs_office(s, cadre, day)
        try:
            offline.add_paper_diary(
                s,
                cadre=cadre,
                day=day,
                text=request.form.get("text") or "",
                actor=user().actor,
                now=now(),
                today=common.today(),
            )
        except offline.OfflineError as e:
            abort(400, description=str(e).split(" / ")[0])
        name = cadre.name
    return done(f"已补录 {name} {day} 的民情日记。", "console.offline.offline_page")


@bp.post("/offline/request")
@writers
def offline_request() -> Any:
    tz = lx().config.tz
    raw = (request.form.get("at") or "").strip()
    try:
        at = datetime.fromisoformat(raw).replace(tzinfo=tz) if raw else now()
    except ValueError:
        raise form_error("收到时间格式不正确", field="at") from None
    household_id = request.form.get("household_id", type=int)
    if not household_id:
        abort(400, description="请先按户主姓名、电话或卡号后几位查找，并选择农户")
    tell = (request.form.get("tell") or "cadre").strip()
    with db() as s:
        household = get_in_scope(s, Household, household_id)
        if household.purged_at is not None:
            abort(404)
        if household.link is not None:
            _published_needs_office(s, household.link.cadre, at.astimezone(tz).date())
        answer_to = None
        if tell != "cadre":
            answer_to = s.get(WechatIdentity, int(tell)) if tell.isdigit() else None
            if answer_to is None:
                abort(400, description="所选微信账号没有关联这户（可能已解除），请重新选择")
        try:
            req = offline.add_offline_request(
                s,
                household=household,
                text=request.form.get("text") or "",
                channel=request.form.get("channel") or "",
                at=at,
                actor=user().actor,
                now=now(),
                words=lx().wording().requests,
                config=lx().config,
                answer_to=answer_to,
            )
        except offline.OfflineError as e:
            abort(400, description=str(e).split(" / ")[0])
        number = req.number
    return done(
        f"已登记第{number}号诉求，已转给联户干部。", "console.villager_requests.request_detail", number=number
    )
