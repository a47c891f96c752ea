"""`发卡`, `宣传` (`宣传 全部`), `承诺`: a duty done today for some of the cadre's households.

Every change is a ``DutyRecord`` holding the state before it (``previous``), so `撤销` restores exactly that
(handlers.ledger.undo).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre
from handlers.ledger.shared import (
    DUTY_NAMES,
    UNDO_WINDOW,
    Targets,
    by_cadre,
    card_number,
    fold_word,
    iso,
    own_households,
    resolve,
    split_words,
    whole_minutes,
)
from handlers.paging import paginate
from storage.models import DutyRecord, Household

ALL_WORDS = frozenset({"全部", "所有", "全体", "所有农户", "全部农户", "all"})


def current_duty(h: Household, duty: str) -> tuple[date | None, dict[str, Any] | None]:
    """The duty's current date on this household and the values to restore on 撤销 (None: cannot be done)."""
    if duty == "card":
        if h.card is None:
            return None, None
        return h.card.issued_on, {"issued_on": iso(h.card.issued_on), "issued_by": h.card.issued_by}
    if duty == "policy":
        return h.policy_done_on, {"policy_done_on": iso(h.policy_done_on), "policy_done_by": h.policy_done_by}
    assert h.link is not None
    return h.link.commitment_signed_on, {
        "commitment_signed_on": iso(h.link.commitment_signed_on),
        "commitment_recorded_by": h.link.commitment_recorded_by,
    }


def set_duty(h: Household, duty: str, day: date | None, by: str | None) -> None:
    if duty == "card":
        assert h.card is not None
        h.card.issued_on, h.card.issued_by = day, by
    elif duty == "policy":
        h.policy_done_on, h.policy_done_by = day, by
    else:
        assert h.link is not None
        h.link.commitment_signed_on, h.link.commitment_recorded_by = day, by


def mark(ctx: Context, msg: Message, rest: str, duty: str) -> str:
    cadre = cadre_of(ctx)
    words = split_words(rest)
    if not words:
        return ctx.render("ledger_mark_usage", duty=duty, duty_name=DUTY_NAMES[duty])
    everyone = len(words) == 1 and fold_word(words[0]) in ALL_WORDS
    if everyone:
        targets = Targets(found=own_households(ctx, cadre.id))
        if not targets.found:
            return ctx.render("ledger_no_households")
    else:
        targets = resolve(ctx, cadre.id, words)
    day = ctx.message_day(msg)
    now = ctx.now()
    batch = uuid.uuid4().hex
    done: list[Household] = []
    already: list[tuple[Household, date]] = []
    no_card: list[Household] = []
    for h in targets.found:
        current, previous = current_duty(h, duty)
        if previous is None:
            no_card.append(h)
            continue
        if current is not None:
            already.append((h, current))
            continue
        set_duty(h, duty, day, by_cadre(cadre))
        ctx.session.add(
            DutyRecord(
                household_id=h.id,
                cadre_id=cadre.id,
                duty=duty,
                done_on=day,
                previous={"batch": batch, **previous},
                recorded_by=by_cadre(cadre),
                created_at=now,
            )
        )
        done.append(h)
    ctx.session.flush()
    reply = ctx.render(
        "ledger_marked",
        duty=duty,
        duty_name=DUTY_NAMES[duty],
        day=day,
        everyone=everyone,
        done=[(h.head_name, card_number(h)) for h in done],
        already=[(h.head_name, d) for h, d in already],
        no_card=[h.head_name for h in no_card],
        not_found=targets.not_found,
        not_theirs=targets.not_theirs,
        ambiguous=targets.ambiguous,
        minutes=whole_minutes(UNDO_WINDOW),
    )
    return paginate(ctx, reply)


def card(ctx: Context, msg: Message, rest: str) -> str:
    """`发卡 名或卡号[,名…]`: the service card was handed to these households today."""
    return mark(ctx, msg, rest, "card")


def policy(ctx: Context, msg: Message, rest: str) -> str:
    """`宣传 名或卡号…` / `宣传 全部`: the policy handbook was delivered and explained."""
    return mark(ctx, msg, rest, "policy")


def commitment(ctx: Context, msg: Message, rest: str) -> str:
    """`承诺 名或卡号…`: the commitment letter was signed with these households."""
    return mark(ctx, msg, rest, "commitment")


router = Router(
    "ledger.marks",
    is_cadre,
    (
        Route("ledger.card", command("发卡"), card),
        Route("ledger.policy", command("宣传"), policy),
        Route("ledger.commitment", command("承诺"), commitment),
    ),
)
