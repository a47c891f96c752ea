"""模拟聊天: the office picks a demo identity (a cadre or a villager) and chats with the bot through the real
/wechat endpoint — requests are built and signed server-side exactly as WeChat would (encrypted in safe
mode) — and sees the bot's replies and the pushes that person would receive from the outbox.

Only simulator openids are ever used: the demo's ``demo-…`` accounts and ``sim-cadre-N`` / ``sim-household-N``
(new, unbound accounts that bind with a code or a card number like a real newcomer). A real person's WeChat
account is never impersonated, so nobody real receives a push caused by a training session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from console.access import db, deployment_only, done, lx, record
from storage import cards
from storage.models import Cadre, Household, InboundMessage, OutboxMessage, WechatIdentity

bp = Blueprint("simulator", __name__)

SIM_PREFIXES = ("demo-", "sim-")


def _allowed(openid: str) -> bool:
    return openid.startswith(SIM_PREFIXES) and len(openid) <= 64 and openid.replace("-", "").isalnum()


is_simulated = _allowed  # a demo or simulator account (never a real person's WeChat)


def _label(s: Any, openid: str) -> str:
    ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == openid))
    if ident is not None and ident.kind == "cadre" and ident.cadre:
        return f"干部 {ident.cadre.name}（{ident.cadre.post or ''}）"
    if ident is not None and ident.kind == "villager" and ident.household:
        return f"村民 {ident.household.head_name}（{ident.household.village.name}）"
    number = _sim_id(openid)
    if openid.startswith("sim-cadre-") and number is not None:
        c = s.get(Cadre, number)
        return f"干部 {c.name}（未绑定的新微信）" if c else openid
    if openid.startswith("sim-household-") and number is not None:
        h = s.get(Household, number)
        return f"村民 {h.head_name}（未关联的新微信）" if h else openid
    return openid


def _sim_id(openid: str) -> int | None:
    tail = openid.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() and len(tail) < 12 else None


@bp.get("/simulator")
@deployment_only
def simulator() -> Any:
    openid = request.args.get("openid") or ""
    if openid and not _allowed(openid):
        abort(404)
    with db() as s:
        demo = list(
            s.scalars(
                select(WechatIdentity)
                .where(
                    or_(*[WechatIdentity.openid.like(p + "%") for p in SIM_PREFIXES]),
                    WechatIdentity.kind.in_(("cadre", "villager")),
                )
                .order_by(WechatIdentity.kind, WechatIdentity.openid)
                .limit(300)
            )
        )
        people = [(i.openid, _label(s, i.openid)) for i in demo]
        cadres = list(s.scalars(select(Cadre).where(Cadre.active.is_(True)).order_by(Cadre.name).limit(300)))
        households = list(
            s.scalars(
                select(Household)
                .where(Household.purged_at.is_(None))
                .order_by(Household.village_id, Household.head_name)
                .limit(300)
            )
        )
        log: list[dict[str, Any]] = []
        pushes: list[OutboxMessage] = []
        ident = None
        label = ""
        if openid:
            label = _label(s, openid)
            ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == openid))
            rows = list(
                s.scalars(
                    select(InboundMessage)
                    .where(InboundMessage.openid == openid)
                    .order_by(InboundMessage.id.desc())
                    .limit(40)
                )
            )
            for m in reversed(rows):
                log.append({"at": m.create_time, "text": _shown(m), "reply": m.reply})
            pushes = list(
                s.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.openid == openid)
                    .order_by(OutboxMessage.id.desc())
                    .limit(40)
                )
            )
        card = None
        if ident is not None and ident.household and ident.household.card:
            card = ident.household.card.number
        elif openid.startswith("sim-household-") and _sim_id(openid) is not None:
            h = s.get(Household, _sim_id(openid))
            card = h.card.number if h and h.card else None
        return render_template(
            "simulator.html",
            openid=openid,
            label=label,
            people=people,
            cadres=cadres,
            households=households,
            log=log,
            pushes=pushes,
            ident=ident,
            card=card,
            safe=lx().config.safe_mode,
        )


def _shown(m: InboundMessage) -> str:
    if m.msg_type == "event":
        return f"［{ {'subscribe': '关注', 'SCAN': '扫码', 'unsubscribe': '取消关注'}.get(m.event or '', m.event) }］"
    if m.msg_type == "text":
        return m.content or ""
    return f"［{m.msg_type}］{m.content or ''}"


@bp.post("/simulator/open")
@deployment_only
def simulator_open() -> Any:
    """Start chatting as a new simulator account for a cadre or a household."""
    f = request.form
    if f.get("cadre_id", type=int):
        openid = f"sim-cadre-{f.get('cadre_id', type=int)}"
    elif f.get("household_id", type=int):
        openid = f"sim-household-{f.get('household_id', type=int)}"
    else:
        openid = f.get("openid", "")
    if not _allowed(openid):
        abort(400, description="请选择一个演示身份")
    return redirect(url_for("console.simulator.simulator", openid=openid))


def post_to_wechat(openid: str, kind: str, **fields: Any) -> tuple[int, str | None]:
    """POST one signed (and in safe mode encrypted) message to /wechat; (status, reply text or None).
    The WeChat protocol is the transport's (bot.wechat.endpoint.post_signed, injected by bot.app.create_app)."""
    post: Callable[..., tuple[int, str | None]] = current_app.config["WECHAT_POST"]
    return post(openid, kind, **fields)


@bp.post("/simulator/send")
@deployment_only
def simulator_send() -> Any:
    f = request.form
    openid = f.get("openid", "")
    if not _allowed(openid):
        abort(400, description="请选择一个演示身份")
    action = f.get("action", "text")
    if action == "text":
        text = (f.get("text") or "").strip()
        if not text:
            abort(400, description="请输入要发送的内容")
        status, _ = post_to_wechat(openid, "text", Content=text)
    elif action in ("subscribe", "scan"):
        # What WeChat sends when the printed card's QR code (the account's parametric code for the card's
        # scene token) is scanned: SCAN by a follower, subscribe with the qrscene_ prefix by a newcomer. A card
        # whose code is not made yet gets its token now (printing later makes the code for that same token).
        card_number = (f.get("card") or "").strip()
        event = "subscribe" if action == "subscribe" else "SCAN"
        scene = ""
        if card_number:
            with db() as s:
                card = cards.by_number(s, card_number)
                if card is None:
                    abort(400, description="没有这张服务卡")
                if not card.qr_scene:
                    card.qr_scene = cards.new_scene()
                scene = card.qr_scene
        key = (f"qrscene_{scene}" if event == "subscribe" else scene) if scene else ""
        status, _ = post_to_wechat(openid, "event", Event=event, EventKey=key)
    else:
        abort(400, description="未知的操作")
    with db() as s:
        record(s, "simulator.send", f"openid:{openid}", kind=action)
    if status != 200:
        abort(502, description=f"/wechat 返回 {status}")
    return done("已发送。", "console.simulator.simulator", openid=openid)
