"""What a published circular tells each cadre, and the chat's `排名` (my score and rank in the last one).

Publishing (storage/circulars.py) happens once per period; the pushes are queued in the same transaction,
keyed per cadre and period, so a cadre is told once however often the office clicks. Each cadre hears only
their own figures: score, rank among those ranked, the change from last time and the one or two components
that cost them most points (the report's ``score_breakdown``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from handlers.base import Context, Message, Outbox, Route, Router
from handlers.common import cadre_of, command, is_cadre
from handlers.render import render
from storage import circulars
from storage.models import WechatIdentity

PART_NAMES = {
    "diary": "民情日记",
    "summary": "月小结",
    "tasks": "督办卡反馈",
    "requests": "诉求按时答复",
    "satisfaction": "群众满意度",
    "ledger": "五个一台账",
}
KIND_NAMES = {"month": "月通报", "quarter": "季点评", "year": "年考核"}


def costs(row: dict[str, Any], n: int = 2) -> list[dict[str, Any]]:
    """The ``n`` score components that lost the most points (none when nothing was lost)."""
    lost = [
        (round(p["max_points"] - p["points"], 2), p)
        for p in row.get("score_breakdown") or []
        if p.get("ratio") is not None
    ]
    lost.sort(key=lambda t: -t[0])
    return [
        {"name": PART_NAMES.get(p["key"], p["key"]), "lost": pts, "ratio": p["ratio"]}
        for pts, p in lost[:n]
        if pts >= 0.01
    ]


def words(kind: str, period: str, row: dict[str, Any], ranked: int, *, time: str) -> dict[str, Any]:
    """The push's text and its named values (PRODUCT.md "Pushes": a notice has title, text, time)."""
    text = render(
        "circular_push", kind_name=KIND_NAMES[kind], period=period, row=row, ranked=ranked, costs=costs(row)
    )
    title = f"{period}{KIND_NAMES[kind]}"
    short = (
        f"{row['score']}分 第{row['rank']}名"
        if row.get("score") is not None and row.get("rank") is not None
        else "本期未评分"
    )
    return {"text": text, "values": {"title": title, "text": short, "time": time}}


def _bound(session: Any) -> dict[int, str]:
    """cadre id → the openid of their bound WeChat (the most recently bound one)."""
    rows = session.execute(
        select(WechatIdentity.cadre_id, WechatIdentity.openid)
        .where(
            WechatIdentity.kind == "cadre",
            WechatIdentity.cadre_id.is_not(None),
            WechatIdentity.unreachable.is_(False),
            WechatIdentity.subscribed.is_(True),
        )
        .order_by(
            WechatIdentity.cadre_id, WechatIdentity.bound_at.desc().nullslast(), WechatIdentity.id.desc()
        )
    ).all()
    out: dict[int, str] = {}
    for cid, openid in rows:
        out.setdefault(cid, openid)
    return out


def publish_circular(
    session: Any,
    *,
    kind: str,
    period: str,
    township_id: int | None,
    report: dict[str, Any],
    files: dict[str, bytes],
    actor: str,
    now: datetime,
    tz: Any,
) -> tuple[bool, int]:
    """storage.circulars.publish, and one push to each bound cadre of the township's report: their rank is the one
    within the township. (published?, pushes queued)"""
    if not circulars.publish(
        session, kind=kind, period=period, township_id=township_id, files=files, actor=actor, now=now
    ):
        return False, 0
    bound = _bound(session)
    ranked = sum(1 for r in report["cadres"] if r.get("rank") is not None)
    time = now.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    queued = 0
    outbox = Outbox(session)
    for row in report["cadres"]:
        openid = bound.get(row.get("cadre_id"))
        if openid is None:
            continue
        w = words(kind, period, row, ranked, time=time)
        # The named values of a notice (title, text, time): delivery maps them onto [wechat.templates.notice].
        queued += outbox.enqueue(
            openid,
            "notice",
            w["text"],
            key=f"circular:{kind}:{period}:{row['cadre_id']}",
            template=w["values"],
        )
    return True, queued


def ranking(ctx: Context, msg: Message, rest: str) -> str:
    """`排名`: my figures in the last published monthly circular of my township."""
    cadre = cadre_of(ctx)
    found = circulars.latest_cadre_row(ctx.session, cadre.phone, cadre.township_id)
    if found is None:
        return ctx.render("ranking_none")
    period, row, ranked = found
    return ctx.render(
        "circular_push",
        kind_name=KIND_NAMES["month"],
        period=period,
        row=row,
        ranked=ranked,
        costs=costs(row),
    )


router = Router("circular", is_cadre, (Route("circular.ranking", command("排名"), ranking),))
