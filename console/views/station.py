"""The station's seed pieces in the console: a village's 动员会 register (record a meeting, queue its notice to
the village's linked households: storage/meetings.py, handlers/meeting_notices.py), the village's 单位办点 shown
on the public listing (storage/station_units.py), and the 好经验好做法 the office collects (storage/practices.py),
shown with the year's commendations on the year report. Every change audited; a village account: its own
village's register."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.access import admin_only, db, done, in_scope, lx, now, record, user, writers
from console.views import common
from handlers import meeting_notices
from storage import meetings, practices, station_units
from storage.models import Cadre, Village, VillageMeeting

bp = Blueprint("station", __name__)


def _village(s: Session, village_id: int | None) -> Village:
    v = s.get(Village, village_id) if village_id else None
    if v is None:
        abort(404)
    in_scope(v.id)
    return v


def _day(value: str | None) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        abort(400, description="日期应写作 YYYY-MM-DD")


@bp.get("/station")
def station_page() -> Any:
    """A village's register (its 动员会, its 办点单位); the user's own village first."""
    with db() as s:
        villages = common.villages(s)
        if not villages:
            return render_template("station.html", village=None, villages=[], meetings=[], cadres=[])
        wanted = request.args.get("village", type=int) or user().village_id or villages[0].id
        v = _village(s, wanted)
        cadres = list(
            s.scalars(
                common.scope_cadres(select(Cadre).where(Cadre.township_id == v.township_id)).order_by(
                    Cadre.name
                )
            )
        )
        return render_template(
            "station.html",
            village=v,
            villages=villages,
            meetings=meetings.of_village(s, v.id),
            cadres=cadres,
            today=common.today(),
        )


@bp.post("/station/<int:village_id>/meetings")
@writers
def meeting_add(village_id: int) -> Any:
    f = request.form
    day = _day(f.get("day"))
    villagers = f.get("villagers", 0, type=int) or 0
    with db() as s:
        v = _village(s, village_id)
        cadres = [c for c in s.scalars(select(Cadre).where(Cadre.id.in_(f.getlist("cadre", type=int))))]
        for c in cadres:
            if not user().sees_cadre(c):
                abort(404)
        try:
            m, new = meetings.add(
                s,
                village=v,
                day=day,
                title=f.get("title", ""),
                villagers=villagers,
                cadres=cadres,
                note=f.get("note"),
                by=user().actor,
                now=now(),
            )
        except meetings.MeetingError as e:
            abort(400, description=str(e))
        if new:
            record(s, "meeting.add", f"meeting:{m.id}", village=v.id, day=day.isoformat())
        said = "已登记动员会。" if new else "这次动员会已登记过。"
        if f.get("notify"):
            said += _notify(s, m)
    return done(said, "console.station.station_page", village=village_id)


def _notify(s: Session, m: VillageMeeting) -> str:
    sent = meeting_notices.notify(s, m, config=lx().config, now=now())
    record(s, "meeting.notify", f"meeting:{m.id}", villagers=sent.villagers, cadres=sent.cadres)
    return f"通知已排队：村民 {sent.villagers} 条，转告干部 {sent.cadres} 条。"


@bp.post("/station/meetings/<int:meeting_id>/notify")
@writers
def meeting_notify(meeting_id: int) -> Any:
    with db() as s:
        m = s.get(VillageMeeting, meeting_id)
        if m is None:
            abort(404)
        in_scope(m.village_id)
        said, village_id = _notify(s, m), m.village_id
    return done(said, "console.station.station_page", village=village_id)


@bp.post("/station/<int:village_id>/unit")
@admin_only
def station_unit(village_id: int) -> Any:
    with db() as s:
        v = _village(s, village_id)
        try:
            changed = station_units.set_unit(s, village=v, unit=request.form.get("unit"))
        except station_units.UnitError as e:
            abort(400, description=str(e))
        if changed:
            record(s, "village.station_unit", f"village:{v.id}", unit=v.station_unit)
    return done(
        "已保存办点单位。" if changed else "没有改动。", "console.station.station_page", village=village_id
    )


@bp.get("/practices")
def practices_page() -> Any:
    year = request.args.get("year", type=int) or common.today().year
    with db() as s:
        rows = practices.of_year(s, year=year, township_id=user().township_id)
        if user().role == "village":
            rows = [p for p in rows if p.village_id == user().village_id]
        return render_template(
            "practices.html",
            year=year,
            rows=rows,
            villages=common.villages(s),
            cadres=list(s.scalars(common.scope_cadres(select(Cadre)).order_by(Cadre.name))),
            today=common.today(),
        )


@bp.post("/practices")
@admin_only
def practice_add() -> Any:
    f = request.form
    day = _day(f.get("day"))
    with db() as s:
        village = _village(s, f.get("village", type=int)) if f.get("village") else None
        cadre = s.get(Cadre, f.get("cadre", type=int)) if f.get("cadre") else None
        if f.get("cadre") and (cadre is None or not user().sees_cadre(cadre)):
            abort(404)
        township_id = user().township_id or (village.township_id if village else None)
        township_id = township_id or (cadre.township_id if cadre else None)
        if township_id is None:
            abort(400, description="请选择村(居)或干部")
        try:
            p = practices.add(
                s,
                township_id=township_id,
                title=f.get("title", ""),
                text=f.get("text", ""),
                day=day,
                village=village,
                cadre=cadre,
                by=user().actor,
                now=now(),
            )
        except practices.PracticeError as e:
            abort(400, description=str(e))
        record(s, "practice.add", f"practice:{p.id}", day=day.isoformat())
    return done("已收录。", "console.station.practices_page", year=day.year)
