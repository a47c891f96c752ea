"""`绑定 CODE`: a cadre binds their WeChat account with a one-time code issued by the office.

Rules: a code is single use (claimed with a conditional UPDATE, so two accounts racing for one code cannot
both win), expires (72 hours at most) and is void once the office issued a newer one for the same cadre; five
wrong codes from one account within an hour lock binding for that account for an hour.
Any account may bind with a valid code — that is the office's authority — including one linked to a
household (a cadre who first scanned their own family's card): it then becomes the cadre's account and no
longer speaks for the household. Rebinding moves the cadre to the new account; the old account is released
(so pushes go to one account only), and because a code in the wrong hands is a takeover, the released account
and the office are both told (a push to each). Every binding is kept in the cadre's binding history
(storage.accounts), shown on the cadre's console page. Binding with a code for the cadre already bound
changes nothing.

Guessing across accounts: wrong codes from all accounts together are counted too ([general]
bind_guesses_per_hour within an hour). Past that, binding is paused for an hour for every account that typed a
wrong code in the window, and one wrong code during the pause holds an account until it ends; an account with no
wrong code may still bind (a cadre with their slip is not turned away), so a guesser gets one try per fresh
account. The office is told once per pause.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from handlers import keywords
from handlers.base import Context, Message, Route, Router, anyone
from handlers.common import command, local_time_text
from storage import accounts, offices
from storage.accounts import find_bind_code
from storage.audit import record
from storage.cards import mask_openid
from storage.db import rows_changed
from storage.models import BindCode, Cadre, WechatIdentity
from storage.push_links import revoke_links_for
from storage.ratelimit import (
    clear_failures,
    failures_in_window,
    hold_until,
    locked_until,
    record_failure,
)

log = logging.getLogger("lianxin.bot.binding")

MAX_WRONG = 5
LOCK = timedelta(hours=1)
OVERALL_KEY = "bind:*"
PAUSE = timedelta(hours=1)


def _key(ctx: Context) -> str:
    return f"bind:{ctx.identity.openid}"


def _bound_cadre(ctx: Context) -> Cadre | None:
    ident = ctx.identity
    if ident.kind == "cadre" and ident.cadre_id:
        return ctx.session.get(Cadre, ident.cadre_id)
    return None


def _paused(ctx: Context, now: datetime) -> datetime | None:
    if ctx.config.general.bind_guesses_per_hour <= 0:
        return None
    return locked_until(ctx.session, OVERALL_KEY, now)


def bind(ctx: Context, msg: Message, rest: str) -> str:
    now = ctx.now()
    # A bound cadre whose code is refused is told the binding they have still stands (the attempt still counts).
    bound_as = _bound_cadre(ctx)
    paused = _paused(ctx, now)
    held = _held(ctx, now, paused, bound_as)
    if held is not None:
        return held
    code = keywords.digits_only(rest)
    if not code:
        return ctx.render("bind_usage")
    if paused is not None and failures_in_window(ctx.session, _key(ctx), now, LOCK) > 0:
        return ctx.render("bind_paused", until=local_time_text(ctx, paused), bound_as=bound_as)
    row = find_bind_code(ctx.session, code, configured_secret=ctx.config.console.secret_key)
    problem = _problem(row, now)
    if problem is not None:
        return _wrong(ctx, problem, now=now, paused=paused, bound_as=bound_as)
    assert row is not None
    cadre = ctx.session.get(Cadre, row.cadre_id)
    assert cadre is not None
    if ctx.identity.kind == "cadre" and ctx.identity.cadre_id == cadre.id:
        clear_failures(ctx.session, _key(ctx))
        return ctx.render("bind_already", cadre=cadre)
    if not _claim(ctx, row, now):
        return ctx.render("bind_used", left=MAX_WRONG, bound_as=bound_as)
    return _bind(ctx, cadre, row, now)


def _held(ctx: Context, now: datetime, paused: datetime | None, bound_as: Cadre | None) -> str | None:
    """The reply to an account that may not try a code now (held by the pause across accounts, or locked after
    its own wrong codes), else None."""
    until = locked_until(ctx.session, _key(ctx), now)
    if until is not None and until == paused:  # held for the pause across accounts
        return ctx.render("bind_paused", until=local_time_text(ctx, paused), bound_as=bound_as)
    if until is not None:
        return ctx.render("bind_locked", until=local_time_text(ctx, until), bound_as=bound_as)
    return None


def _problem(row: BindCode | None, now: datetime) -> str | None:
    """Why a code cannot bind (wrong, used, revoked by a newer one, expired), or None."""
    if row is None:
        return "wrong"
    if row.used_at is not None:
        return "used"
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= now:
        return "expired"
    return None


def _claim(ctx: Context, row: BindCode, now: datetime) -> bool:
    """Claim the code for this account: only one account can flip ``used_at`` from NULL (one conditional UPDATE,
    so two accounts racing for one code cannot both win)."""
    claimed = rows_changed(
        ctx.session.execute(
            update(BindCode)
            .where(BindCode.id == row.id, BindCode.used_at.is_(None), BindCode.revoked_at.is_(None))
            .values(used_at=now, used_by_openid=ctx.identity.openid)
            .execution_options(synchronize_session=False)
        )
    )
    return claimed == 1


def _bind(ctx: Context, cadre: Cadre, row: BindCode, now: datetime) -> str:
    """Make this account the cadre's (with a claimed code): the cadre's earlier account is released, the
    binding history and the audit log record it, and a takeover is told to the released account and the office."""
    ident = ctx.identity
    detail: dict[str, Any] = {"openid": ident.openid, "previous_kind": ident.kind, "code": row.id}
    if ident.kind == "cadre" and ident.cadre_id:
        detail["previous_cadre_id"] = ident.cadre_id
    if ident.household_id:
        detail["previous_household_id"] = ident.household_id
    released = _release_earlier_accounts(ctx, cadre, now)
    if released:
        detail["released_openids"] = [o.openid for o in released]
    was_villager = ident.kind == "villager"
    if ident.kind in ("cadre", "villager"):  # the pages of what this account was sent before were that role's
        revoke_links_for(ident.openid, session=ctx.session, now=now)
    # This account spoke for another cadre: say so, or that cadre silently stops getting cards and reminders.
    was_cadre = ctx.session.get(Cadre, ident.cadre_id) if ident.kind == "cadre" and ident.cadre_id else None
    accounts.release_bindings(ctx.session, now=now, why="rebound", cadre_id=cadre.id)
    if was_cadre is not None:
        accounts.release_bindings(ctx.session, now=now, why="moved", openid=ident.openid)
    ident.kind = "cadre"
    ident.cadre_id = cadre.id
    ident.household_id = None
    ident.bound_at = now
    accounts.record_binding(ctx.session, cadre_id=cadre.id, openid=ident.openid, code_id=row.id, now=now)
    clear_failures(ctx.session, _key(ctx))
    record(
        ctx.session,
        actor=f"wechat:{ident.openid}",
        action="wechat.bind",
        target=f"cadre:{cadre.id}",
        detail=detail,
    )
    if released or was_cadre is not None:
        _tell_of_takeover(ctx, cadre, released, was_cadre)
    ctx.session.flush()
    return ctx.render(
        "bind_ok", cadre=cadre, rebound=bool(released), was_villager=was_villager, was_cadre=was_cadre
    )


def _release_earlier_accounts(ctx: Context, cadre: Cadre, now: datetime) -> list[WechatIdentity]:
    """One cadre, one account: the cadre's other accounts are released (storage/accounts.py), so pushes go to one
    account only and the pages of the pushes they were sent stop opening. Returns them."""
    return accounts.release_cadre_accounts(
        ctx.session, cadre_id=cadre.id, now=now, keep_identity_id=ctx.identity.id
    )


def _wrong(
    ctx: Context, problem: str, *, now: datetime, paused: datetime | None, bound_as: Cadre | None
) -> str:
    """A code refused (unknown, used, void, expired): counted for the account and across accounts."""
    if paused is not None:
        # During a pause one wrong code holds the account until the pause ends, and the pause does not grow.
        hold_until(ctx.session, _key(ctx), now, paused)
        return ctx.render("bind_paused", until=local_time_text(ctx, paused), bound_as=bound_as)
    overall = ctx.config.general.bind_guesses_per_hour
    if overall > 0:
        _, started = record_failure(
            ctx.session, OVERALL_KEY, now, limit=overall, lock_for=PAUSE, window=PAUSE
        )
        if started is not None:
            _tell_office_binding_paused(ctx, until=started, limit=overall)
    failures, until = record_failure(ctx.session, _key(ctx), now, limit=MAX_WRONG, lock_for=LOCK, window=LOCK)
    if until is not None:
        return ctx.render("bind_locked", until=local_time_text(ctx, until), bound_as=bound_as)
    return ctx.render(f"bind_{problem}", left=MAX_WRONG - failures, bound_as=bound_as)


def _tell_office_binding_paused(ctx: Context, *, until: datetime, limit: int) -> None:
    """Once per pause (keyed on its end): who is held and until when."""
    text = ctx.render("bind_pause_notice", limit=limit, until=local_time_text(ctx, until))
    for openid in offices.recipients(ctx.session, ctx.config):
        ctx.outbox.enqueue(openid, "notice", text, key=f"bind-pause:{until.isoformat()}:{openid}")


def _tell_of_takeover(
    ctx: Context, cadre: Cadre, released: list[WechatIdentity], was_cadre: Cadre | None
) -> None:
    """Binding over a binding: the released account(s) and the office hear of it (a code in the wrong hands
    takes a cadre's villagers, so no one may find out only by missing their pushes)."""
    now = ctx.now()
    when = local_time_text(ctx, now)
    new_account = mask_openid(ctx.identity.openid)
    for old in released:
        ctx.outbox.enqueue(
            old.openid,
            "notice",
            ctx.render("bind_released_push", cadre=cadre, time=when),
            key=f"bind-released:c{cadre.id}:{old.openid}:{now.isoformat()}",
        )
    text = ctx.render(
        "bind_takeover_notice",
        cadre=cadre,
        time=when,
        account=new_account,
        released=[mask_openid(o.openid) for o in released],
        was_cadre=was_cadre,
    )
    for openid in offices.recipients(ctx.session, ctx.config, cadre.township_id):
        ctx.outbox.enqueue(
            openid, "notice", text, key=f"bind-takeover:c{cadre.id}:{openid}:{now.isoformat()}"
        )


router = Router("binding", anyone, (Route("bind", command("绑定"), bind),))
