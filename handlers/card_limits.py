"""How often a service card may be tried and linked (handlers/villager.py asks before and after each attempt).

A card number is a household's credential, so attempts are limited three ways, all counted with
storage/ratelimit.py in the message's own transaction:

- **Per account.** 5 wrong numbers within an hour lock the account for 10 minutes, doubling with every further
  wrong number. A right number never wipes the wrong ones before it, and it counts too when it moves an account
  already linked to one household on to another: an account hopping through numbers it knows (a leaked list, a
  village's cards) is slowed like a guesser. An account's first link, or its own number again, counts nothing.
- **Per card.** One household's card linked by many accounts in a day is a leaked number, not a family: up to
  ``CARD_ACCOUNTS_PER_DAY`` new accounts within 24 hours link (a family of four or five, each with WeChat, on the
  day the card arrives); the next is refused — counted as a wrong attempt for that account — and the household's
  cadre and the office are told, once a day.
- **Across accounts.** A distributed guesser: ``[general] card_guesses_per_hour`` *distinct* wrong numbers
  of card shape (8 or 9 digits; chatty text that merely holds digits is not a guess) within an hour start a pause
  of an hour. The pause is scoped to the guessers, not the county: an account with a wrong number in the window
  may not type numbers until it ends, and an account that types a wrong number during it waits it out; an account
  with no wrong number still links with its first, right number, and scanning a card's QR code always links.
  The office is told once per pause: what it holds and until when.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from handlers.base import Context
from handlers.common import cadre_openid, local_time_text
from storage import cards
from storage.models import Cadre, Household
from storage.ratelimit import failures_in_window, hold_until, locked_until, record_failure
from storage.tasks import office_recipients

CARD_TRIES = 5
CARD_LOCK = timedelta(minutes=10)
CARD_WINDOW = timedelta(hours=1)
CARD_ACCOUNTS_PER_DAY = 5
CARD_DAY = timedelta(hours=24)
OVERALL_KEY = "card:*"
PAUSE = timedelta(hours=1)
CARD_SHAPED = re.compile(r"\d{8,9}")
_COUNTER = 10**9  # a limit never reached: the row only counts


def _key(ctx: Context) -> str:
    return f"card:{ctx.identity.openid}"


def _paused(ctx: Context, now: datetime) -> datetime | None:
    if ctx.config.general.card_guesses_per_hour <= 0:
        return None
    return locked_until(ctx.session, OVERALL_KEY, now)


def refused_before_lookup(ctx: Context, *, scanned: bool) -> str | None:
    """The reply when this account may not try a card now (locked, or held by a pause); None: it may."""
    now = ctx.now()
    paused = None if scanned else _paused(ctx, now)
    until = locked_until(ctx.session, _key(ctx), now)
    if until is not None and until == paused:
        return ctx.render("card_busy", until=local_time_text(ctx, until))
    if until is not None:
        return ctx.render("card_locked", until=local_time_text(ctx, until))
    if paused is not None and failures_in_window(ctx.session, _key(ctx), now, CARD_WINDOW) > 0:
        return ctx.render("card_busy", until=local_time_text(ctx, paused))
    return None


def wrong(ctx: Context, *, number: str | None, scanned: bool) -> str:
    """A number (or scan) that opens no household: counted for the account and, card-shaped, across accounts."""
    now = ctx.now()
    paused = None if scanned else _paused(ctx, now)
    if paused is not None:  # one wrong number during a pause: wait it out; the pause itself does not grow
        hold_until(ctx.session, _key(ctx), now, paused)
        return ctx.render("card_busy", until=local_time_text(ctx, paused))
    _, until = record_failure(
        ctx.session, _key(ctx), now, limit=CARD_TRIES, lock_for=CARD_LOCK, window=CARD_WINDOW, grow=True
    )
    if not scanned and number is not None and CARD_SHAPED.fullmatch(number):
        _count_across_accounts(ctx, number, now)
    if until is not None:
        return ctx.render("card_locked", until=local_time_text(ctx, until))
    return ctx.render(
        "card_wrong",
        number=number,
        scanned=scanned,
        linked=ctx.identity.kind == "villager",
        typo=number is not None and cards.number_typo(number),
    )


def _count_across_accounts(ctx: Context, number: str, now: datetime) -> None:
    limit = ctx.config.general.card_guesses_per_hour
    if limit <= 0:
        return
    # Distinct numbers: the same wrong number typed again (an elderly villager retrying) is one guess. Kept
    # hashed: a wrong number may be a real card mistyped by one digit.
    seen = f"card:#{hashlib.sha256(number.encode()).hexdigest()[:24]}"
    times, _ = record_failure(ctx.session, seen, now, limit=_COUNTER, lock_for=PAUSE, window=PAUSE)
    if times > 1:
        return
    _, started = record_failure(ctx.session, OVERALL_KEY, now, limit=limit, lock_for=PAUSE, window=PAUSE)
    if started is not None:
        text = ctx.render("card_guess_notice", limit=limit, until=local_time_text(ctx, started))
        for openid in office_recipients(ctx.session, ctx.config.scheduler.office_openids):
            ctx.outbox.enqueue(openid, "notice", text, key=f"card-pause:{started.isoformat()}:{openid}")


def refused_before_link(
    ctx: Context, household: Household, cadre: Cadre | None, *, scanned: bool
) -> str | None:
    """A right card about to link this account to ``household`` (a new link): the reply when the card is linked
    by too many accounts today (counted as a wrong attempt; the cadre and office told once a day); else None,
    after counting the link for the card and, typed, for the account."""
    now = ctx.now()
    card_key = f"card-links:h{household.id}"
    if failures_in_window(ctx.session, card_key, now, CARD_DAY) >= CARD_ACCOUNTS_PER_DAY:
        record_failure(
            ctx.session, _key(ctx), now, limit=CARD_TRIES, lock_for=CARD_LOCK, window=CARD_WINDOW, grow=True
        )
        _tell_of_crowding(ctx, household, cadre)
        return ctx.render("card_crowded", household=household, per_day=CARD_ACCOUNTS_PER_DAY)
    record_failure(ctx.session, card_key, now, limit=_COUNTER, lock_for=CARD_DAY, window=CARD_DAY)
    if not scanned and ctx.identity.kind == "villager":  # a hop from one household to another
        record_failure(
            ctx.session, _key(ctx), now, limit=CARD_TRIES, lock_for=CARD_LOCK, window=CARD_WINDOW, grow=True
        )
    return None


def _tell_of_crowding(ctx: Context, household: Household, cadre: Cadre | None) -> None:
    day = ctx.local_date(ctx.now()).isoformat()
    sched = ctx.config.scheduler
    text = ctx.render(
        "card_crowded_notice",
        household=household,
        per_day=CARD_ACCOUNTS_PER_DAY,
        account=cards.mask_openid(ctx.identity.openid),
        time=local_time_text(ctx, ctx.now()),
    )
    told = set(
        office_recipients(
            ctx.session,
            sched.office_openids,
            township_id=household.village.township_id,
            by_township=sched.township_office_openids,
        )
    )
    if cadre is not None and (openid := cadre_openid(ctx.session, cadre.id)) is not None:
        told.add(openid)
    for openid in sorted(told):
        ctx.outbox.enqueue(openid, "notice", text, key=f"card-crowded:h{household.id}:{day}:{openid}")
