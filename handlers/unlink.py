"""`解绑 户主姓名 [N]` / `解绑 卡号 [N]` (cadres): unlink a WeChat account from one of my households.

Every new link is told to the household's cadre (handlers/villager.py) by a notice that names the household
(户主姓名, 村民小组, never its card number) and the link's number N in the household, and says what to send:
`解绑 户主姓名 N` (with the 村民小组 when two of the cadre's households share the name). N names exactly one link and
is never reused, so answering an older notice never removes a later link. Without N, a household with one linked
account has it removed; with several, they are listed with their numbers and nothing changes: the cadre cannot
remove the wrong person silently. The unlinked account is told, and the change is audited.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import keywords
from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre
from storage import cards
from storage.audit import record
from storage.models import Household, Link, WechatIdentity
from storage.push_links import revoke_links_for

# the link's number after the household: "2", "2号", "第2个"
_LINK_NO = re.compile(r"^第?(\d{1,3})(?:号|號|个|個)?$")
_NAME_AND_NO = re.compile(r"^(.*?\D)第?(\d{1,3})(?:号|號|个|個)?$")


def _own(session: Session, cadre_id: int) -> Any:
    return (
        select(Household)
        .join(Link, Link.household_id == Household.id)
        .where(Link.cadre_id == cadre_id, Household.purged_at.is_(None))
    )


def unlink_words(
    session: Session, cadre_id: int, household: Household, link_no: int | None = None
) -> str | None:
    """What the cadre sends to unlink link ``link_no`` of ``household``: `解绑 户主姓名 [村民小组] [N]`; None when
    the name and group do not tell the household apart among the cadre's own (then only its card number does)."""
    same = [
        h for h in session.scalars(_own(session, cadre_id).where(Household.head_name == household.head_name))
    ]
    words = ["解绑", household.head_name]
    if len(same) > 1:
        if household.group is None or sum(1 for h in same if h.group_id == household.group_id) > 1:
            return None
        words.append(household.group.name)
    if link_no is not None:
        words.append(str(link_no))
    return " ".join(words)


def _parse(rest: str) -> tuple[list[str], int | None]:
    words = unicodedata.normalize("NFKC", rest or "").split()
    if len(words) >= 2 and _LINK_NO.match(words[-1]):
        return words[:-1], int(_LINK_NO.match(words[-1]).group(1))  # type: ignore[union-attr]
    if len(words) == 1 and not words[0].isdigit():
        m = _NAME_AND_NO.match(words[0])
        if m and not m.group(1).isdigit():
            return [m.group(1)], int(m.group(2))
    return words, None


def _households(ctx: Context, cadre_id: int, words: list[str]) -> list[Household]:
    """The cadre's own households the words name: a card number, or a head's name and maybe a 村民小组."""
    number = keywords.looks_like_card_number(words[0])
    if number is not None and number.isdigit():
        card = cards.by_number(ctx.session, number)
        if card is None:
            return []
        return list(ctx.session.scalars(_own(ctx.session, cadre_id).where(Household.id == card.household_id)))
    found = list(ctx.session.scalars(_own(ctx.session, cadre_id).where(Household.head_name == words[0])))
    if len(words) > 1:
        group = "".join(words[1:])
        found = [h for h in found if h.group is not None and h.group.name == group]
    return found


def _account(ctx: Context, ident: WechatIdentity) -> dict[str, Any]:
    return {
        "no": ident.link_no,
        "masked": cards.mask_openid(ident.openid),
        "when": _when(ctx, ident.bound_at),
        "via": ident.bound_via,
    }


def _when(ctx: Context, moment: datetime | None) -> str:
    if moment is None:
        return ""
    m = moment.astimezone(ctx.config.tz)
    return f"{m.month}月{m.day}日 {m:%H:%M}"


def unlink(ctx: Context, msg: Message, rest: str) -> str:
    words, link_no = _parse(rest)
    if not words:
        return ctx.render("unlink_usage")
    cadre = cadre_of(ctx)
    found = _households(ctx, cadre.id, words)
    if not found:
        return ctx.render("unlink_not_mine", word=" ".join(words))
    if len(found) > 1:
        return ctx.render("unlink_ambiguous", word=words[0], households=found)
    household = found[0]
    linked = cards.number_links(ctx.session, household.id)
    say = unlink_words(ctx.session, cadre.id, household)
    if not linked:
        return ctx.render("unlink_nothing", household=household)
    if link_no is not None:
        chosen = [i for i in linked if i.link_no == link_no]
        if not chosen:
            accounts = [_account(ctx, i) for i in linked]
            return ctx.render("unlink_gone", household=household, no=link_no, accounts=accounts, say=say)
        target = chosen[0]
    elif len(linked) == 1:
        target = linked[0]
    else:
        accounts = [_account(ctx, i) for i in linked]
        return ctx.render("unlink_choose", household=household, accounts=accounts, say=say)
    gone = _account(ctx, target)
    cards.unlink(ctx.session, target)
    revoke_links_for(target.openid, session=ctx.session, now=ctx.now())  # its pages of earlier pushes die
    ctx.outbox.enqueue(
        target.openid,
        "notice",
        ctx.render("unlinked_push", household=household, cadre=cadre),
        key=f"unlink:h{household.id}:i{target.id}:{ctx.now().isoformat()}",
    )
    record(
        ctx.session,
        actor=f"cadre:{cadre.phone}",
        action="household.unlink",
        target=f"household:{household.id}",
        detail={"account": gone["masked"], "via": gone["via"], "link_no": gone["no"], "by": "chat"},
    )
    left = [_account(ctx, i) for i in linked if i.id != target.id]
    return ctx.render("unlink_done", household=household, gone=gone, left=left, say=say)


router = Router("unlink", is_cadre, (Route("unlink", command("解绑"), unlink),))
