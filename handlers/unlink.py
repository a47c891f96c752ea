"""`解绑 卡号` (cadres): unlink the most recently linked WeChat account of one of my households.

The cadre hears of every new link (handlers/villager.py); this is the answer to a link that was not the
family's. The unlinked account is told, and the change is audited.
"""

from __future__ import annotations

from sqlalchemy import select

from handlers import keywords
from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre
from storage import cards
from storage.audit import record
from storage.models import Link
from storage.push_links import revoke_links_for


def unlink(ctx: Context, msg: Message, rest: str) -> str:
    number = keywords.looks_like_card_number(rest)
    if number is None:
        return ctx.render("unlink_usage")
    cadre = cadre_of(ctx)
    card = cards.by_number(ctx.session, number)
    link = (
        ctx.session.scalar(select(Link).where(Link.household_id == card.household_id))
        if card is not None
        else None
    )
    if card is None or link is None or link.cadre_id != cadre.id or card.household.purged_at is not None:
        return ctx.render("unlink_not_mine", number=number)
    household = card.household
    linked = cards.linked_identities(ctx.session, household.id)
    if not linked:
        return ctx.render("unlink_nothing", household=household)
    latest = linked[0]
    via, masked = latest.bound_via, cards.mask_openid(latest.openid)
    cards.unlink(ctx.session, latest)
    revoke_links_for(latest.openid, session=ctx.session, now=ctx.now())  # its pages of earlier pushes die
    ctx.outbox.enqueue(
        latest.openid,
        "notice",
        ctx.render("unlinked_push", household=household, cadre=cadre),
        key=f"unlink:h{household.id}:i{latest.id}:{ctx.now().isoformat()}",
    )
    record(
        ctx.session,
        actor=f"cadre:{cadre.phone}",
        action="household.unlink",
        target=f"household:{household.id}",
        detail={"account": masked, "via": via, "by": "chat"},
    )
    return ctx.render("unlink_done", household=household, account=masked, left=len(linked) - 1)


router = Router("unlink", is_cadre, (Route("unlink", command("解绑"), unlink),))
