"""群众诉求: the inbox (filters), a request's conversation, reply as the office (relayed to the villager through
the outbox, kind "reply"), reassign to another cadre, close; satisfaction is shown as the villager gave it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from console import push_links
from console.access import cadre_in_scope, db, done, in_scope, lx, now, record, user, writers
from console.errors import form_error
from console.views import common
from console.views import disputes as disputes_view
from console.views.simulator import is_simulated
from console.views.transfers import transfer_form_values
from handlers.render import mask_phone
from storage import station
from storage.models import Attachment, Cadre, Household, RequestReply, VillagerRequest, WechatIdentity
from storage.offline import CHANNELS, villager_account
from storage.outbox import enqueue, push_time, reply_values, request_values
from storage.push_links import links_about_request
from storage.reachability import unreachable_cadres
from storage.tasks import cadre_openids
from storage.words import STATUS_ZH

bp = Blueprint("villager_requests", __name__)

CATEGORIES = ("求助", "纠纷", "建议", "咨询", "其他")


@bp.get("/requests")
def requests_inbox() -> Any:
    a = request.args
    t = now()
    hours = lx().config.sla.first_answer_hours
    with db() as s:
        stmt = (
            select(VillagerRequest)
            .join(Household, VillagerRequest.household_id == Household.id)
            .options(
                joinedload(VillagerRequest.household).joinedload(Household.village),
                joinedload(VillagerRequest.cadre),
            )
            .order_by(VillagerRequest.created_at.desc(), VillagerRequest.id.desc())
        )
        stmt = common.scope_households(stmt)
        status = a.get("status", "")
        if status in ("open", "answered", "closed"):
            stmt = stmt.where(VillagerRequest.status == status)
        sla = a.get("sla", "")
        limit = t - timedelta(hours=hours)
        if sla == "late":  # no first answer and past the time limit
            stmt = stmt.where(
                VillagerRequest.first_answer_at.is_(None),
                VillagerRequest.created_at <= limit,
                VillagerRequest.status != "closed",
            )
        elif sla == "in":
            stmt = stmt.where(
                VillagerRequest.first_answer_at.is_(None),
                VillagerRequest.created_at > limit,
                VillagerRequest.status != "closed",
            )
        if a.get("category") in CATEGORIES:
            stmt = stmt.where(VillagerRequest.category == a["category"])
        if a.get("village", type=int):
            stmt = stmt.where(Household.village_id == a.get("village", type=int))
        if a.get("cadre", type=int):
            stmt = stmt.where(VillagerRequest.cadre_id == a.get("cadre", type=int))
        if a.get("satisfaction") in ("满意", "不满意"):
            stmt = stmt.where(VillagerRequest.satisfaction == a["satisfaction"])
        unreachable = unreachable_cadres(s)  # the office answers for these cadres (storage/requests.py)
        if a.get("unreachable"):
            stmt = stmt.where(VillagerRequest.cadre_id.in_(list(unreachable)))
        q = (a.get("q") or "").strip()
        if q:
            stmt = stmt.where(common.text_filter(q, VillagerRequest.text, Household.head_name))
        if common.wants_xlsx():
            return _requests_xlsx(list(s.scalars(stmt.limit(common.EXPORT_LIMIT))), limit)
        rows, page, more = common.paged(s, stmt)
        cadres = list(s.scalars(common.scope_cadres(select(Cadre)).order_by(Cadre.name)))
        return render_template(
            "requests.html",
            total=common.total(s, stmt),
            rows=rows,
            page=page,
            more=more,
            f=a,
            categories=CATEGORIES,
            villages=common.villages(s),
            cadres=cadres,
            args=common.query_args(),
            limit=limit,
            hours=hours,
            unreachable=unreachable,
        )


def _requests_xlsx(rows: list[VillagerRequest], limit: datetime) -> Any:
    tz = lx().config.tz
    return common.xlsx_download(
        "群众诉求",
        ["编号", "时间", "户主", "户主电话", "村(居)", "类别", "内容", "联系干部", "状态", "评价"],
        [
            [
                r.number,
                r.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                r.household.head_name,
                mask_phone(r.household.head_phone),
                r.household.village.name,
                r.category,
                r.text,
                r.cadre.name,
                "已超时"
                if r.status == "open" and r.created_at <= limit
                else STATUS_ZH.get(r.status, r.status),
                r.satisfaction or "",
            ]
            for r in rows
        ],
        action="requests.export",
        target="requests",
    )


def _request(s: Any, number: int) -> VillagerRequest:
    r = s.scalar(select(VillagerRequest).where(VillagerRequest.number == number))
    if r is None:
        abort(404)
    in_scope(r.household.village_id)
    return r


@bp.get("/requests/<int:number>")
def request_detail(number: int) -> Any:
    with db() as s:
        r = _request(s, number)
        ids = [r.id]
        photos = list(
            s.scalars(
                select(Attachment).where(Attachment.owner_type == "request", Attachment.owner_id.in_(ids))
            )
        )
        cadres = list(
            s.scalars(common.scope_cadres(select(Cadre).where(Cadre.active.is_(True))).order_by(Cadre.name))
        )
        deadline = r.created_at + timedelta(hours=lx().config.sla.first_answer_hours)
        sim = (
            r.identity.openid if r.identity and user().is_admin and is_simulated(r.identity.openid) else None
        )
        return render_template(
            "request.html",
            r=r,
            photos=photos,
            cadres=cadres,
            deadline=deadline,
            now=now(),
            full=user().sees_full(r.household.village_id),
            sim=sim,
            links=push_links.link_rows(s, links_about_request(s, r.id), now()),
            dispute=disputes_view.panel(s, r),  # 矛盾调解 (console/views/disputes.py, _dispute.html)
            **transfer_form_values(s, r),  # 转办 (console/templates/_transfer_request.html)
        )


@bp.post("/requests/<int:number>/reply")
@writers
def request_reply(number: int) -> Any:
    text = (request.form.get("text") or "").strip()
    if not text:
        raise form_error("答复内容不能为空", field="text")
    if len(text) > 1000:
        raise form_error("答复内容不能超过 1000 字", field="text")
    t = now()
    with db() as s:
        r = _request(s, number)
        if r.status == "closed":
            abort(400, description=f"第{number}号诉求已办结，不能再答复")
        reply = RequestReply(request_id=r.id, author=f"office:{user().username}", text=text, created_at=t)
        s.add(reply)
        ask_rating = r.status == "open"
        if r.first_answer_at is None:
            r.first_answer_at = t
        if r.status != "transferred":  # a department still has it (转办): the office's word is added only
            r.status = "answered"
        s.flush()
        villager = villager_account(s, r)
        relayed = to_cadre = False
        if villager is not None and villager.subscribed and villager.kind == "villager":
            relayed = enqueue(
                s,
                openid=villager.openid,
                kind="reply",
                key=f"reply:{reply.id}:villager",
                template=reply_values(r, "联户办", text, t, lx().config.tz),
                text=render_template("push/office_reply.txt", r=r, text=text, ask_rating=ask_rating).strip(),
            )
        elif r.channel != "wechat" and r.answer_to_id is None:
            # An offline request and no account chosen for it: the cadre passes the answer on, never the
            # household's latest link (who may be a stranger).
            cadre_openid = cadre_openids(s, r.cadre_id)
            if cadre_openid:
                to_cadre = enqueue(
                    s,
                    openid=cadre_openid[0],
                    kind="notice",
                    key=f"reply:{reply.id}:cadre",
                    text=render_template(
                        "push/office_reply_to_cadre.txt", r=r, text=text, channel=CHANNELS.get(r.channel, "")
                    ).strip(),
                    template={
                        "title": f"第{r.number}号诉求已答复",
                        "text": text,
                        "time": push_time(t, lx().config.tz),
                    },
                )
        record(s, "request.reply", f"request:{number}", reply_id=reply.id, relayed=relayed, to_cadre=to_cadre)
    if relayed:
        message = "答复已发送给群众。"
    elif to_cadre:
        message = "答复已记录，并推送给联户干部，请干部电话或上门告知群众（线下登记的诉求不发到农户微信）。"
    else:
        message = "答复已记录（群众收不到微信推送，请电话告知）。"
    return done(message, "console.villager_requests.request_detail", number=number)


@bp.post("/requests/<int:number>/reassign")
@writers
def request_reassign(number: int) -> Any:
    cadre_id = request.form.get("cadre_id", type=int)
    with db() as s:
        r = _request(s, number)
        c = s.get(Cadre, cadre_id) if cadre_id else None
        if c is None or not c.active:
            abort(400, description="请选择一名在职干部")
        cadre_in_scope(c)
        if c.township_id != r.household.village.township_id:
            abort(400, description="干部与农户不在同一乡镇")
        if c.id == r.cadre_id:
            return done("没有改动。", "console.villager_requests.request_detail", number=number)
        old = r.cadre_id
        r.cadre_id = c.id
        record(s, "request.reassign", f"request:{number}", old_cadre=old, new_cadre=c.id)
        for ident in s.scalars(
            select(WechatIdentity).where(
                WechatIdentity.cadre_id == c.id,
                WechatIdentity.kind == "cadre",
                WechatIdentity.unreachable.is_(False),
            )
        ):
            enqueue(
                s,
                openid=ident.openid,
                kind="request",
                key=f"request-reassign:{r.id}:{c.id}:{int(now().timestamp())}",
                text=render_template("push/request_reassigned.txt", r=r).strip(),
                template=request_values(r, lx().config.tz),
            )
        name = c.name
    return done(
        f"已转交 {name} 办理，并通知了该干部。", "console.villager_requests.request_detail", number=number
    )


@bp.post("/requests/<int:number>/close")
@writers
def request_close(number: int) -> Any:
    with db() as s:
        r = _request(s, number)
        if r.status == "closed":
            return done("该诉求已办结。", "console.villager_requests.request_detail", number=number)
        r.status, r.closed_at, r.closed_by = "closed", now(), f"office:{user().username}"
        station.end_transfer(s, r, actor=user().actor, now=now())  # 办结 ends a department's 转办 too
        record(s, "request.close", f"request:{number}")
    return done(f"第{number}号诉求已办结。", "console.villager_requests.request_detail", number=number)
