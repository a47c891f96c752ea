"""The guided `登记` (民情信息登记表) for one of the cadre's households.

Explicit state (``ConversationState`` flow ``ledger_info``) with a 30-minute timeout; the cancel word
(取消/退出) works in every step, `跳过` keeps the current value, and an answer that cannot be read is asked
again with an example. The open form sees the cadre's text before any other cadre route (handlers.routing).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from handlers import conversation, keywords
from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre
from handlers.ledger.parsers import PARSERS, Invalid, from_json, history_value, to_json
from handlers.ledger.shared import (
    UNDO_WINDOW,
    by_cadre,
    card_number,
    fold_word,
    iso,
    resolve,
    split_words,
    whole_minutes,
)
from storage.ledger import INFO_FIELD_LABELS, INFO_FIELDS, format_field, info_missing_fields
from storage.models import Cadre, ConversationState, DutyRecord, Household, HouseholdInfoHistory

FORM_TIMEOUT = timedelta(minutes=30)
FORM_FLOW = "ledger_info"
FORM_STEPS: tuple[str, ...] = (*INFO_FIELDS, "confirm")

# 撤销 inside the form cancels it (nothing was saved yet, so there is nothing else to undo).
CANCEL_WORDS = frozenset({"取消", "退出", "算了", "不登了", "结束", "撤销", "撤回", "cancel", "quit", "q"})
SKIP_WORDS = frozenset({"跳过", "略过", "下一步", "不变", "skip"})
YES_WORDS = frozenset({"确认", "确定", "是", "是的", "好", "好的", "对", "保存", "ok", "yes", "y"})


def _end_form(ctx: Context, state: ConversationState) -> None:
    """Leave the form; pages kept for 更多 (handlers.paging.paginate) stay available."""
    more = (state.data or {}).get("_more")
    if more:
        state.flow, state.step, state.data = "more", "more", {"_more": more}
    else:
        ctx.session.delete(state)
    ctx.session.flush()


def register(ctx: Context, msg: Message, rest: str) -> str:
    """`登记 户主姓名或卡号`: start the guided information form for one of the cadre's households."""
    cadre = cadre_of(ctx)
    words = split_words(rest)
    if not words:
        return ctx.render("ledger_form_usage")
    targets = resolve(ctx, cadre.id, [" ".join(words)] if len(words) > 1 else words)
    if len(words) > 1 and not targets.found:
        targets = resolve(ctx, cadre.id, words[:1])
    if not targets.found:
        return ctx.render("ledger_form_notfound", word=words[0], targets=targets)
    h = targets.found[0]
    now = ctx.now()
    state = conversation.current(ctx)
    data = {"household_id": h.id, "answers": {}}
    if state is None:
        state = conversation.start(
            ctx,
            ConversationState(
                identity_id=ctx.identity.id,
                flow=FORM_FLOW,
                step=FORM_STEPS[0],
                data=data,
                expires_at=now + FORM_TIMEOUT,
            ),
        )
    else:
        more = (state.data or {}).get("_more") if state.expires_at > now else None
        state.flow, state.step, state.expires_at = FORM_FLOW, FORM_STEPS[0], now + FORM_TIMEOUT
        state.data = {**data, **({"_more": more} if more else {})}
    ctx.session.flush()
    current = {f: format_field(f, getattr(h, f)) for f in INFO_FIELDS}
    return ctx.render(
        "ledger_form_start",
        head=h.head_name,
        card=card_number(h),
        current=current,
        labels=INFO_FIELD_LABELS,
        missing=info_missing_fields(h),
        minutes=whole_minutes(FORM_TIMEOUT),
        question=ctx.render("ledger_form_ask", step=FORM_STEPS[0], n=1, current=current[FORM_STEPS[0]]),
    )


def match_form(ctx: Context, msg: Message) -> dict[str, Any] | None:
    """While a cadre's 登记 is open (not timed out), their text and voice messages answer it."""
    if msg.kind not in ("text", "voice"):
        return None
    state = conversation.current(ctx)
    if state is None or state.flow != FORM_FLOW or state.expires_at <= ctx.now():
        return None
    # Another command (登记 李四, 宣传 全部, 日记 …) is not an answer: it runs, and the form stays open for the
    # next answer. The cancel words (撤销 among them) do belong to the form.
    if fold_word(msg.text) not in CANCEL_WORDS and keywords.parse(msg.text) is not None:
        return None
    return {"state": state}


def form_step(ctx: Context, msg: Message, state: ConversationState) -> str:
    cadre = cadre_of(ctx)
    data = dict(state.data or {})
    h = ctx.session.get(Household, data.get("household_id"))
    if h is None or h.purged_at is not None or h.link is None or h.link.cadre_id != cadre.id:
        _end_form(ctx, state)
        return ctx.render("ledger_form_gone")
    text = (msg.text or "").strip()
    word = fold_word(text)
    if word in CANCEL_WORDS:
        _end_form(ctx, state)
        return ctx.render("ledger_form_cancelled", head=h.head_name)
    step = state.step
    answers: dict[str, Any] = dict(data.get("answers") or {})
    n = FORM_STEPS.index(step) + 1 if step in FORM_STEPS else 1
    parsed = keywords.parse(text)
    if parsed is not None and parsed.name == "帮助":
        return _ask(ctx, h, step, n, help_=True)
    if step == "confirm":
        if word in YES_WORDS:
            return _save_form(ctx, msg, state, h, answers, cadre)
        return ctx.render("ledger_form_confirm_again")
    if step not in PARSERS:  # an unknown step (older version of the flow): start again
        _end_form(ctx, state)
        return ctx.render("ledger_form_gone")
    if word in SKIP_WORDS:
        answers.pop(step, None)
    else:
        try:
            answers[step] = to_json(step, PARSERS[step](text))
        except Invalid as e:
            state.expires_at = ctx.now() + FORM_TIMEOUT
            ctx.session.flush()
            return ctx.render("ledger_form_invalid", step=step, reason=str(e), question=_ask(ctx, h, step, n))
    next_step = FORM_STEPS[n]
    state.step = next_step
    state.data = {**data, "answers": answers}
    state.expires_at = ctx.now() + FORM_TIMEOUT
    ctx.session.flush()
    if next_step == "confirm":
        changes = _changes(h, answers)
        if not answers:
            _end_form(ctx, state)
            return ctx.render("ledger_form_nothing", head=h.head_name)
        listed = len(answers["members"]) if answers.get("members") else None
        return ctx.render(
            "ledger_form_confirm",
            head=h.head_name,
            changes=changes,
            labels=INFO_FIELD_LABELS,
            complete=not _missing_after(h, answers),
            population=h.population,
            listed=listed if listed is not None and listed != h.population else None,
        )
    return _ask(ctx, h, next_step, n + 1)


def _ask(ctx: Context, h: Household, step: str, n: int, help_: bool = False) -> str:
    if step == "confirm":
        return ctx.render("ledger_form_confirm_again")
    return ctx.render(
        "ledger_form_ask", step=step, n=n, current=format_field(step, getattr(h, step)), help=help_
    )


def _changes(h: Household, answers: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for f in INFO_FIELDS:
        if f in answers:
            out.append((f, format_field(f, getattr(h, f)), format_field(f, from_json(f, answers[f]))))
    return out


def _missing_after(h: Household, answers: dict[str, Any]) -> list[str]:
    probe = Household(**{f: from_json(f, answers[f]) if f in answers else getattr(h, f) for f in INFO_FIELDS})
    return info_missing_fields(probe)


def _save_form(
    ctx: Context, msg: Message, state: ConversationState, h: Household, answers: dict[str, Any], cadre: Cadre
) -> str:
    now = ctx.now()
    by = by_cadre(cadre)
    previous: dict[str, Any] = {
        "batch": uuid.uuid4().hex,
        "fields": {f: to_json(f, getattr(h, f)) for f in answers},
        "info_updated_at": iso(h.info_updated_at),
        "info_updated_by": h.info_updated_by,
    }
    # Household.population stays as the link list has it (the office's import owns it; a re-import of the
    # same file must change nothing); the confirmation points out a difference instead.
    values = {f: from_json(f, answers[f]) for f in answers}
    for f, new in values.items():
        old = getattr(h, f)
        if history_value(f, old) != history_value(f, new):
            ctx.session.add(
                HouseholdInfoHistory(
                    household_id=h.id,
                    changed_at=now,
                    changed_by=by,
                    field=f,
                    old_value=history_value(f, old),
                    new_value=history_value(f, new),
                )
            )
        setattr(h, f, new)
    h.info_updated_at = now
    h.info_updated_by = by
    day = ctx.message_day(msg)
    ctx.session.add(
        DutyRecord(
            household_id=h.id,
            cadre_id=cadre.id,
            duty="info",
            done_on=day,
            previous=previous,
            recorded_by=by,
            created_at=now,
        )
    )
    _end_form(ctx, state)
    missing = info_missing_fields(h)
    return ctx.render(
        "ledger_form_saved",
        head=h.head_name,
        missing=missing,
        labels=INFO_FIELD_LABELS,
        minutes=whole_minutes(UNDO_WINDOW),
    )


# The open form first: while it waits for an answer, the cadre's text is that answer.
router = Router(
    "ledger.form",
    is_cadre,
    (
        Route("ledger.form", match_form, form_step),
        Route("ledger.register", command("登记"), register),
    ),
)
