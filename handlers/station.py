"""`转办 M 部门 说明`: a cadre passes their villager's request M to a township department (民政办, 司法所 …) that can
settle what they cannot; the department is told, the villager is told it was passed on (storage/station/). The
department may be named as typed (民政 for 民政办) when only one department fits; without a match the reply lists
the township's departments."""

from __future__ import annotations

import re

from handlers import keywords
from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre, own_request
from handlers.station_notices import StationNotices
from storage import station
from storage.models import Department
from storage.offline import villager_account
from storage.periods import local_text


def _department(ctx: Context, township_id: int, rest: str) -> tuple[Department | None, str]:
    """The department at the start of ``rest`` and the note after it (kept as the cadre wrote it): a department's
    full name, also typed without a space ("民政办低保复核"), else the first word as written (station.match)."""
    rest = rest.strip()
    for dept in station.of_township(ctx.session, township_id):
        for i in range(len(dept.name), min(len(rest), 2 * len(dept.name)) + 1):
            if keywords.fold(rest[:i]) == dept.name:
                return dept, rest[i:].lstrip(" \u3000:：,，、").strip()
    word, _, note = rest.replace("\u3000", " ").partition(" ")
    word = re.split(r"[:：,，、]", word, maxsplit=1)[0]
    return station.match(ctx.session, township_id, keywords.fold(word)), note.strip()


def transfer(ctx: Context, msg: Message, rest: str) -> str:
    number, rest = keywords.leading_number(rest)
    if number is None or not rest:
        return ctx.render("station_usage")
    cadre = cadre_of(ctx)
    req = own_request(ctx, cadre, number)
    if req is None:
        return ctx.render("reply_not_found", number=number)
    township_id = station.township_of(ctx.session, req)
    dept, note = _department(ctx, township_id, rest)
    if dept is None:
        return ctx.render(
            "station_unknown_department",
            said=rest.split()[0],
            names=station.names_text(ctx.session, township_id),
        )
    try:
        t = station.transfer(
            ctx.session,
            request=req,
            department=dept,
            actor=f"cadre:{cadre.phone}",
            now=ctx.now(),
            config=ctx.config,
            words=StationNotices(ctx.tz),
            note=note,
        )
    except station.StationError as e:
        return ctx.render("station_refused", message=str(e).split(" / ")[0])
    villager = villager_account(ctx.session, req)
    return ctx.render(
        "station_transferred",
        request=req,
        department=dept.name,
        due=local_text(t.due, ctx.tz),
        villager_told=villager is not None and villager.subscribed and villager.kind == "villager",
        staff=len(dept.openids or []),
    )


router = Router("station", is_cadre, (Route("station.transfer", command("转办"), transfer),))
