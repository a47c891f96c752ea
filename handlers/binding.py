"""`绑定 CODE`: a cadre binds their WeChat account with a one-time code issued by the office.

Rules: a code is single use (claimed with a conditional UPDATE, so two accounts racing for one code cannot
both win) and expires; five wrong codes from one account within an hour lock binding for an hour.
Any account may bind with a valid code — that is the office's authority — including one linked to a
household (a cadre who first scanned their own family's card): it then becomes the cadre's account and no
longer speaks for the household. Rebinding moves the cadre to the new account; the old account is released
(so pushes go to one account only). Binding with a code for the cadre already bound changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from handlers import keywords
from handlers.base import Context, Message, Route, Router, anyone
from handlers.common import command, local_time_text
from storage.accounts import code_hash
from storage.audit import record
from storage.models import BindCode, Cadre, WechatIdentity
from storage.push_links import revoke_links_for
from storage.ratelimit import clear_failures, locked_until, record_failure

log = logging.getLogger("lianxin.bot.binding")

MAX_WRONG = 5
LOCK = timedelta(hours=1)


def _key(ctx: Context) -> str:
    return f"bind:{ctx.identity.openid}"


def _bound_cadre(ctx: Context) -> Cadre | None:
    ident = ctx.identity
    if ident.kind == "cadre" and ident.cadre_id:
        return ctx.session.get(Cadre, ident.cadre_id)
    return None


def bind(ctx: Context, msg: Message, rest: str) -> str:
    now = ctx.now()
    # A bound cadre whose code is refused is told the binding they have still stands (the attempt still counts).
    bound_as = _bound_cadre(ctx)
    until = locked_until(ctx.session, _key(ctx), now)
    if until is not None:
        return ctx.render("bind_locked", until=local_time_text(ctx, until), bound_as=bound_as)
    code = keywords.digits_only(rest)
    if not code:
        return ctx.render("bind_usage")
    row = ctx.session.scalar(select(BindCode).where(BindCode.code_hash == code_hash(code)))
    problem = None
    if row is None:
        problem = "wrong"
    elif row.used_at is not None:
        problem = "used"
    elif row.expires_at <= now:
        problem = "expired"
    if problem is not None:
        failures, until = record_failure(
            ctx.session, _key(ctx), now, limit=MAX_WRONG, lock_for=LOCK, window=LOCK
        )
        if until is not None:
            return ctx.render("bind_locked", until=local_time_text(ctx, until), bound_as=bound_as)
        return ctx.render(f"bind_{problem}", left=MAX_WRONG - failures, bound_as=bound_as)
    assert row is not None
    cadre = ctx.session.get(Cadre, row.cadre_id)
    assert cadre is not None
    ident = ctx.identity
    if ident.kind == "cadre" and ident.cadre_id == cadre.id:
        clear_failures(ctx.session, _key(ctx))
        return ctx.render("bind_already", cadre=cadre)

    # Claim the code: only one account can flip used_at from NULL.
    claimed = ctx.session.execute(
        update(BindCode)
        .where(BindCode.id == row.id, BindCode.used_at.is_(None))
        .values(used_at=now, used_by_openid=ident.openid)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return ctx.render("bind_used", left=MAX_WRONG, bound_as=bound_as)

    detail: dict[str, Any] = {"openid": ident.openid, "previous_kind": ident.kind}
    if ident.kind == "cadre" and ident.cadre_id:
        detail["previous_cadre_id"] = ident.cadre_id
    if ident.household_id:
        detail["previous_household_id"] = ident.household_id
    # Release the cadre's earlier account(s): one cadre, one account.
    released = ctx.session.scalars(
        select(WechatIdentity).where(
            WechatIdentity.cadre_id == cadre.id, WechatIdentity.kind == "cadre", WechatIdentity.id != ident.id
        )
    ).all()
    for old in released:
        old.kind = "unknown"
        old.cadre_id = None
        old.bound_at = None
        revoke_links_for(old.openid, session=ctx.session, now=now)  # its pages of earlier pushes die
    if released:
        detail["released_openids"] = [o.openid for o in released]
    was_villager = ident.kind == "villager"
    # This account spoke for another cadre: say so, or that cadre silently stops getting cards and reminders.
    was_cadre = ctx.session.get(Cadre, ident.cadre_id) if ident.kind == "cadre" and ident.cadre_id else None
    ident.kind = "cadre"
    ident.cadre_id = cadre.id
    ident.household_id = None
    ident.bound_at = now
    clear_failures(ctx.session, _key(ctx))
    record(
        ctx.session,
        actor=f"wechat:{ident.openid}",
        action="wechat.bind",
        target=f"cadre:{cadre.id}",
        detail=detail,
    )
    ctx.session.flush()
    return ctx.render(
        "bind_ok", cadre=cadre, rebound=bool(released), was_villager=was_villager, was_cadre=was_cadre
    )


router = Router("binding", anyone, (Route("bind", command("绑定"), bind),))
