"""线下补录: what reached the office on paper or by phone — a cadre's paper diary entry (补录) and a villager's
request received by phone, visit or letter. The office enters any; a village user only their village's.
Stored and counted like their chat twins (storage/offline.py), audited; the request is pushed to the cadre
(handlers/request_notices.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import abort, render_template, request
from sqlalchemy import select

from console.access import cadre_in_scope, db, done, in_scope, lx, now, user, writers
from console.blueprint import bp
from console.views import common
from handlers import request_notices
from storage import offline
from storage.models import Cadre, DiaryEntry, VillagerRequest


@bp.get("/offline")
@writers
def offline_page() -> Any:
    with db() as s:
        cadres = list(
            s.scalars(common.scope_cadres(select(Cadre).where(Cadre.active.is_(True))).order_by(Cadre.name))
        )
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
            paper=paper,
            requests=offline_requests,
            channels=offline.CHANNELS,
            today=common.today(),
            now_local=now().astimezone(lx().config.tz).strftime("%Y-%m-%dT%H:%M"),
        )


@bp.post("/offline/diary")
@writers
def offline_diary() -> Any:
    try:
        day = date.fromisoformat((request.form.get("day") or "").strip())
    except ValueError:
        abort(400, description="日期应为 YYYY-MM-DD")
    with db() as s:
        cadre = s.get(Cadre, request.form.get("cadre_id", type=int) or 0)
        if cadre is None:
            abort(400, description="请选择干部")
        cadre_in_scope(cadre)
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
    return done(f"已补录 {name} {day} 的民情日记。", "console.offline_page")


@bp.post("/offline/request")
@writers
def offline_request() -> Any:
    tz = lx().config.tz
    raw = (request.form.get("at") or "").strip()
    try:
        at = datetime.fromisoformat(raw).replace(tzinfo=tz) if raw else now()
    except ValueError:
        abort(400, description="收到时间格式不正确")
    with db() as s:
        try:
            household = offline.household_by_card(s, request.form.get("card") or "")
            in_scope(household.village_id)
            req = request_notices.record_request(
                s,
                household=household,
                text=request.form.get("text") or "",
                channel=request.form.get("channel") or "",
                at=at,
                actor=user().actor,
                now=now(),
                tz=tz,
            )
        except offline.OfflineError as e:
            abort(400, description=str(e).split(" / ")[0])
        number = req.number
    return done(f"已登记第{number}号诉求，已转给联户干部。", "console.request_detail", number=number)
