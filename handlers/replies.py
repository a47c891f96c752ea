"""`回复 M TEXT`: a cadre answers villager request M (only their own); the answer is relayed to the villager."""

from __future__ import annotations

from handlers import keywords
from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre, own_request
from storage.models import RequestReply
from storage.offline import CHANNELS, villager_account
from storage.outbox import reply_values


def answer(ctx: Context, msg: Message, rest: str) -> str:
    number, text = keywords.leading_number(rest)
    if number is None or not text:
        return ctx.render("reply_usage")
    cadre = cadre_of(ctx)
    req = own_request(ctx, cadre, number)
    if req is None:
        return ctx.render("reply_not_found", number=number)
    if req.status == "closed":
        return ctx.render("reply_closed", request=req)
    now = ctx.now()
    reply = RequestReply(request_id=req.id, author=f"cadre:{cadre.phone}", text=text, created_at=now)
    ctx.session.add(reply)
    ask_rating = req.status == "open"  # asked once per answer round: first answer, or after 不满意
    first = req.first_answer_at is None
    if first:
        req.first_answer_at = now
    # a department still has it (转办): the cadre's word is added to the conversation, not its answer
    if req.status != "transferred":
        req.status = "answered"
    ctx.session.flush()
    villager = villager_account(ctx.session, req)  # an offline request: only an account the office chose
    relayed = False
    if villager is not None and villager.subscribed and villager.kind == "villager":
        relayed = ctx.outbox.enqueue(
            villager.openid,
            "reply",
            ctx.render("reply_push", request=req, cadre=cadre, text=text, ask_rating=ask_rating),
            key=f"reply:{reply.id}:villager",
            template=reply_values(req, cadre.name, text, now, ctx.config.tz),
        )
    refusing = relayed and villager is not None and bool(villager.unreachable)  # 48002: kept until they write
    return ctx.render(
        "reply_sent",
        request=req,
        relayed=relayed,
        refusing=refusing,
        first=first,
        offline_channel=CHANNELS.get(req.channel, ""),
    )


router = Router("replies", is_cadre, (Route("requests.answer", command("回复"), answer),))
