"""The 五个一 duties from the chat: the guided `登记`, `发卡`, `宣传` (`宣传 全部`), `承诺`, their `撤销`, and `改 调解`.

Only a bound cadre reaches these routes, and only for the households linked to them: a name or card number
of another cadre's household is refused by name, never changed. Every change is a ``DutyRecord`` holding the
state before it (``previous``), so `撤销` within 10 minutes restores exactly that.

The guided 登记 is explicit state (``ConversationState`` flow ``ledger_info``) with a 30-minute timeout; the
cancel word (取消/退出) works in every step, `跳过` keeps the current value, and an answer that cannot be read
is asked again with an example.

`撤销` is one keyword for the diary and the ledger: the most recent action wins. The ledger's 撤销 route sits
before the diary's and matches only when the cadre's latest duty batch (within 10 minutes) is at least as
recent as their latest diary entry still undoable; otherwise the diary's 撤销 answers.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from handlers import keywords
from handlers.base import Context, Message, Route
from handlers.common import cadre_of, command, is_cadre, paginate, when
from handlers.roles import ROLES, normalize_role
from storage.ledger import INFO_FIELD_LABELS, INFO_FIELDS, format_field, info_missing_fields
from storage.models import (
    Cadre,
    ConversationState,
    DiaryEntry,
    DutyRecord,
    Household,
    HouseholdInfoHistory,
    Link,
    ServiceCard,
)

UNDO_WINDOW = timedelta(minutes=10)
FORM_TIMEOUT = timedelta(minutes=30)
FORM_FLOW = "ledger_info"
FORM_STEPS: tuple[str, ...] = (*INFO_FIELDS, "confirm")

# 撤销 inside the form cancels it (nothing was saved yet, so there is nothing else to undo).
CANCEL_WORDS = frozenset({"取消", "退出", "算了", "不登了", "结束", "撤销", "撤回", "cancel", "quit", "q"})
SKIP_WORDS = frozenset({"跳过", "略过", "下一步", "不变", "skip"})
YES_WORDS = frozenset({"确认", "确定", "是", "是的", "好", "好的", "对", "保存", "ok", "yes", "y"})
ALL_WORDS = frozenset({"全部", "所有", "全体", "所有农户", "全部农户", "all"})
NONE_WORDS = frozenset({"无", "没有", "暂无", "没", "无困难", "无产业"})

# 发卡 / 宣传 / 承诺: which duty, and its Chinese name for replies.
DUTY_NAMES: dict[str, str] = {"card": "便民服务卡发放", "policy": "惠农政策宣传", "commitment": "工作承诺书签订",
                              "info": "民情信息登记"}

RELATIONS: tuple[str, ...] = (
    "户主", "本人", "妻子", "丈夫", "配偶", "老伴", "儿子", "长子", "次子", "女儿", "长女", "次女", "儿媳", "女婿",
    "孙子", "孙女", "外孙", "外孙女", "父亲", "母亲", "爷爷", "奶奶", "祖父", "祖母", "公公", "婆婆", "岳父", "岳母",
    "哥哥", "弟弟", "姐姐", "妹妹", "兄弟", "姐妹", "侄子", "侄女", "之子", "之女", "之妻", "之夫", "其他",
)
_RELATIONS_BY_LEN = sorted(RELATIONS, key=len, reverse=True)


def _fold(text: str) -> str:
    return keywords.fold(text or "").rstrip("。.!！~～")


def _by(cadre: Cadre) -> str:
    return f"cadre:{cadre.phone}"


def _message_day(ctx: Context, msg: Message) -> date:
    return ctx.local_date(msg.create_time)


# --------------------------------------------------------------------------------------------------
# Finding the cadre's households by name or card number
# --------------------------------------------------------------------------------------------------


@dataclass
class Targets:
    found: list[Household] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    not_theirs: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)

    @property
    def problems(self) -> bool:
        return bool(self.not_found or self.not_theirs or self.ambiguous)


def split_words(rest: str) -> list[str]:
    words = re.split(r"[\s,，、;；/|]+", unicodedata.normalize("NFKC", rest or ""))
    out: list[str] = []
    for w in words:
        w = w.strip("。.!！:：")
        if w and w not in out:
            out.append(w)
    return out


def own_households(ctx: Context, cadre_id: int) -> list[Household]:
    return list(ctx.session.scalars(
        select(Household).join(Link, Link.household_id == Household.id)
        .where(Link.cadre_id == cadre_id, Household.purged_at.is_(None)).order_by(Household.id)))


def resolve(ctx: Context, cadre_id: int, words: list[str]) -> Targets:
    """Each word is a card number or a head's name; only the cadre's own households are found."""
    t = Targets()
    seen: set[int] = set()
    for w in words:
        number = keywords.looks_like_card_number(w)
        if number is not None:
            candidates = list(ctx.session.scalars(
                select(Household).join(ServiceCard, ServiceCard.household_id == Household.id)
                .where(ServiceCard.number == number, Household.purged_at.is_(None))))
        else:
            candidates = list(ctx.session.scalars(
                select(Household).where(Household.head_name == w, Household.purged_at.is_(None))))
        own = [h for h in candidates if h.link is not None and h.link.cadre_id == cadre_id]
        if len(own) == 1:
            if own[0].id not in seen:
                seen.add(own[0].id)
                t.found.append(own[0])
        elif len(own) > 1:
            t.ambiguous.append(w)
        elif candidates:
            t.not_theirs.append(w)
        else:
            t.not_found.append(w)
    return t


def _card_number(h: Household) -> str:
    return h.card.number if h.card is not None else ""


# --------------------------------------------------------------------------------------------------
# 发卡 / 宣传 / 承诺
# --------------------------------------------------------------------------------------------------


def _current(h: Household, duty: str) -> tuple[date | None, dict[str, Any] | None]:
    """The duty's current date on this household and the values to restore on 撤销 (None: cannot be done)."""
    if duty == "card":
        if h.card is None:
            return None, None
        return h.card.issued_on, {"issued_on": _iso(h.card.issued_on), "issued_by": h.card.issued_by}
    if duty == "policy":
        return h.policy_done_on, {"policy_done_on": _iso(h.policy_done_on), "policy_done_by": h.policy_done_by}
    assert h.link is not None
    return h.link.commitment_signed_on, {"commitment_signed_on": _iso(h.link.commitment_signed_on),
                                         "commitment_recorded_by": h.link.commitment_recorded_by}


def _set(h: Household, duty: str, day: date | None, by: str | None) -> None:
    if duty == "card":
        assert h.card is not None
        h.card.issued_on, h.card.issued_by = day, by
    elif duty == "policy":
        h.policy_done_on, h.policy_done_by = day, by
    else:
        assert h.link is not None
        h.link.commitment_signed_on, h.link.commitment_recorded_by = day, by


def _iso(d: date | datetime | None) -> str | None:
    return d.isoformat() if d is not None else None


def _date(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


def mark(ctx: Context, msg: Message, rest: str, duty: str) -> str:
    cadre = cadre_of(ctx)
    words = split_words(rest)
    if not words:
        return ctx.render("ledger_mark_usage", duty=duty, duty_name=DUTY_NAMES[duty])
    everyone = len(words) == 1 and _fold(words[0]) in ALL_WORDS
    if everyone:
        targets = Targets(found=own_households(ctx, cadre.id))
        if not targets.found:
            return ctx.render("ledger_no_households")
    else:
        targets = resolve(ctx, cadre.id, words)
    day = _message_day(ctx, msg)
    now = ctx.now()
    batch = uuid.uuid4().hex
    done: list[Household] = []
    already: list[tuple[Household, date]] = []
    no_card: list[Household] = []
    for h in targets.found:
        current, previous = _current(h, duty)
        if previous is None:
            no_card.append(h)
            continue
        if current is not None:
            already.append((h, current))
            continue
        _set(h, duty, day, _by(cadre))
        ctx.session.add(DutyRecord(household_id=h.id, cadre_id=cadre.id, duty=duty, done_on=day,
                                   previous={"batch": batch, **previous}, recorded_by=_by(cadre), created_at=now))
        done.append(h)
    ctx.session.flush()
    reply = ctx.render(
        "ledger_marked", duty=duty, duty_name=DUTY_NAMES[duty], day=day, everyone=everyone,
        done=[(h.head_name, _card_number(h)) for h in done],
        already=[(h.head_name, d) for h, d in already], no_card=[h.head_name for h in no_card],
        not_found=targets.not_found, not_theirs=targets.not_theirs, ambiguous=targets.ambiguous,
        minutes=_minutes(UNDO_WINDOW),
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


def _minutes(td: timedelta) -> int:
    return int(td.total_seconds() // 60)


# --------------------------------------------------------------------------------------------------
# 撤销 (shared keyword with the diary: the most recent action wins)
# --------------------------------------------------------------------------------------------------


def latest_undoable_batch(ctx: Context, cadre_id: int) -> list[DutyRecord]:
    """The records of the cadre's most recent duty command within the undo window (empty if none)."""
    since = ctx.now() - UNDO_WINDOW
    last = ctx.session.scalar(
        select(DutyRecord)
        .where(DutyRecord.cadre_id == cadre_id, DutyRecord.undone_at.is_(None), DutyRecord.created_at >= since)
        .order_by(DutyRecord.created_at.desc(), DutyRecord.id.desc()).limit(1))
    if last is None:
        return []
    batch = (last.previous or {}).get("batch")
    same_time = ctx.session.scalars(
        select(DutyRecord).where(DutyRecord.cadre_id == cadre_id, DutyRecord.undone_at.is_(None),
                                 DutyRecord.created_at == last.created_at).order_by(DutyRecord.id))
    return [r for r in same_time if (r.previous or {}).get("batch") == batch]


def _latest_undoable_diary_at(ctx: Context, cadre_id: int) -> datetime | None:
    return ctx.session.scalar(
        select(DiaryEntry.created_at)
        .where(DiaryEntry.cadre_id == cadre_id, DiaryEntry.deleted_at.is_(None),
               DiaryEntry.created_at >= ctx.now() - UNDO_WINDOW)
        .order_by(DiaryEntry.created_at.desc()).limit(1))


_undo_keyword = command("撤销", bare_only=True)


def match_undo(ctx: Context, msg: Message) -> dict[str, Any] | None:
    """`撤销` when the cadre's latest undoable action is a ledger command (else the diary's 撤销 answers)."""
    if not is_cadre(ctx) or _undo_keyword(ctx, msg) is None:
        return None
    batch = latest_undoable_batch(ctx, ctx.identity.cadre_id or 0)
    if not batch:
        return None
    diary_at = _latest_undoable_diary_at(ctx, ctx.identity.cadre_id or 0)
    if diary_at is not None and diary_at > batch[0].created_at:
        return None
    return {}


def undo(ctx: Context, msg: Message) -> str:
    cadre = cadre_of(ctx)
    records = latest_undoable_batch(ctx, cadre.id)
    if not records:  # the predicate saw one; a concurrent 撤销 may have taken it
        return ctx.render("ledger_undo_nothing", minutes=_minutes(UNDO_WINDOW))
    now = ctx.now()
    names: list[str] = []
    for r in records:
        h = ctx.session.get(Household, r.household_id)
        assert h is not None
        prev = r.previous or {}
        if r.duty == "info":
            _restore_info(ctx, h, prev, cadre, now)
        elif r.duty == "card":
            _set(h, "card", _date(prev.get("issued_on")), prev.get("issued_by"))
        elif r.duty == "policy":
            _set(h, "policy", _date(prev.get("policy_done_on")), prev.get("policy_done_by"))
        elif r.duty == "commitment":
            _set(h, "commitment", _date(prev.get("commitment_signed_on")), prev.get("commitment_recorded_by"))
        r.undone_at = now
        names.append(h.head_name)
    ctx.session.flush()
    return ctx.render("ledger_undone", duty_name=DUTY_NAMES.get(records[0].duty, records[0].duty), names=names)


# --------------------------------------------------------------------------------------------------
# `改 调解`: the role of the latest diary entry
# --------------------------------------------------------------------------------------------------


_role_keyword = command("改")


def match_role(ctx: Context, msg: Message) -> dict[str, Any] | None:
    """`改 调解`; also `改为调解`, `改成 纠纷调解员` — without a space only when the rest is a role."""
    if not is_cadre(ctx):
        return None
    parsed = _role_keyword(ctx, msg)
    if parsed is not None:
        return parsed
    if msg.kind != "text":
        return None
    m = re.fullmatch(r"改(为|成)?\s*(\S{2,6})", _fold(msg.text))
    if m and normalize_role(m.group(2)) is not None:
        return {"rest": m.group(2)}
    return None


def change_role(ctx: Context, msg: Message, rest: str) -> str:
    word = re.sub(r"^(为|成|作|到)\s*", "", _fold(rest))
    role = normalize_role(word) if word else None
    if role is None:
        return ctx.render("ledger_role_usage", roles=ROLES, word=rest.strip())
    cadre = cadre_of(ctx)
    entry = ctx.session.scalar(
        select(DiaryEntry).where(DiaryEntry.cadre_id == cadre.id, DiaryEntry.deleted_at.is_(None))
        .order_by(DiaryEntry.created_at.desc(), DiaryEntry.id.desc()).limit(1))
    if entry is None:
        return ctx.render("ledger_role_no_entry")
    old = entry.role
    entry.role = role
    ctx.session.flush()
    text = entry.text if len(entry.text) <= 20 else entry.text[:20] + "…"
    return ctx.render("ledger_role_changed", day=entry.day, text=text, old=ROLES.get(old or "", ""),
                      new=ROLES[role], same=old == role)


# --------------------------------------------------------------------------------------------------
# The guided 登记 (民情信息登记表)
# --------------------------------------------------------------------------------------------------


class Invalid(ValueError):
    """An answer that cannot be read; the message says why (shown before the example)."""


def parse_members(text: str) -> list[dict[str, Any]]:
    """'张三 户主 56; 李四 妻子 54' → [{"name": "张三", "relation": "户主", "age": 56}, …].

    Liberal: ；;，,、 or new lines between people, spaces or nothing inside ('张三户主56岁'), relation and age
    optional, '56岁' or '56'. A person needs a name; an age must be 0–120.
    """
    s = unicodedata.normalize("NFKC", text or "").strip()
    if not s:
        raise Invalid("没有读到成员")
    members: list[dict[str, Any]] = []
    for chunk in re.split(r"[;,、\n]+", s):
        current: dict[str, Any] | None = None
        for tok in re.findall(r"\d+(?:\.\d+)?|[^\s\d]+", chunk):
            tok = tok.strip(" :()（）")
            if not tok or tok in ("岁", "周岁"):
                continue
            if tok[0].isdigit():
                if current is None:
                    raise Invalid(f"“{tok}” 前面缺少姓名")
                if current.get("age") is not None:
                    raise Invalid(f"{current['name']} 有两个年龄")
                if not re.fullmatch(r"\d{1,3}", tok) or int(tok) > 120:
                    raise Invalid(f"年龄“{tok}”不对")
                current["age"] = int(tok)
                continue
            tok = re.sub(r"^(周)?岁", "", tok)
            if not tok:
                continue
            name, relation = _split_relation(tok)
            if name:
                if current is not None and current.get("name"):
                    members.append(current)
                current = {"name": name, "relation": relation, "age": None}
            elif relation:
                if current is None:
                    raise Invalid(f"“{relation}”前面缺少姓名")
                if current.get("relation"):
                    raise Invalid(f"{current['name']} 有两个称谓")
                current["relation"] = relation
        if current is not None:
            members.append(current)
    if not members:
        raise Invalid("没有读到成员")
    for m in members:
        if len(m["name"]) > 20:
            raise Invalid(f"“{m['name'][:10]}…”不像姓名")
    return members


def _split_relation(tok: str) -> tuple[str, str | None]:
    if tok in RELATIONS:
        return "", tok
    for rel in _RELATIONS_BY_LEN:
        if tok.endswith(rel) and len(tok) > len(rel):
            return tok[: -len(rel)], rel
    return tok, None


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def parse_income(text: str) -> Decimal:
    """'3万' / '3.5万元' / '30000' / '３０，０００元' / '8千' → yuan; 0 to 100 million."""
    s = unicodedata.normalize("NFKC", text or "").strip()
    s = re.sub(r"^(年收入|收入|全年|一年|大约|大概|约)", "", s)
    s = re.sub(r"(元|块钱|块|左右|上下|/年|每年|一年)+$", "", s.replace(",", "").replace(" ", ""))
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(万|千)?", s) or re.fullmatch(r"([零〇一二两三四五六七八九])(万|千)", s)
    if not m:
        raise Invalid("没有读到金额")
    raw = m.group(1)
    try:
        value = Decimal(_CN_DIGITS[raw]) if raw in _CN_DIGITS else Decimal(raw)
    except InvalidOperation:
        raise Invalid("没有读到金额") from None
    value *= {"万": 10000, "千": 1000, None: 1}[m.group(2)]
    if value < 0 or value > Decimal("100000000"):
        raise Invalid("金额超出范围")
    return value.quantize(Decimal("0.01"))


def parse_text(text: str) -> str:
    s = (text or "").strip()
    if not s:
        raise Invalid("内容为空")
    if len(s) > 500:
        raise Invalid("内容太长（最多 500 字）")
    if _fold(s) in NONE_WORDS:
        return "无"
    return s


PARSERS = {"members": parse_members, "annual_income": parse_income, "industries": parse_text,
           "difficulties": parse_text}


def _to_json(name: str, value: Any) -> Any:
    if name == "annual_income" and value is not None:
        return str(value)
    return value


def _from_json(name: str, value: Any) -> Any:
    if name == "annual_income" and value is not None:
        return Decimal(value)
    return value


def _state(ctx: Context) -> ConversationState | None:
    return ctx.session.scalar(select(ConversationState).where(ConversationState.identity_id == ctx.identity.id))


def _end_form(ctx: Context, state: ConversationState) -> None:
    """Leave the form; pages kept for 更多 (handlers.common.paginate) stay available."""
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
    state = _state(ctx)
    data = {"household_id": h.id, "answers": {}}
    if state is None:
        state = ConversationState(identity_id=ctx.identity.id, flow=FORM_FLOW, step=FORM_STEPS[0], data=data,
                                  expires_at=now + FORM_TIMEOUT)
        ctx.session.add(state)
    else:
        more = (state.data or {}).get("_more") if state.expires_at > now else None
        state.flow, state.step, state.expires_at = FORM_FLOW, FORM_STEPS[0], now + FORM_TIMEOUT
        state.data = {**data, **({"_more": more} if more else {})}
    ctx.session.flush()
    current = {f: format_field(f, getattr(h, f)) for f in INFO_FIELDS}
    return ctx.render("ledger_form_start", head=h.head_name, card=_card_number(h), current=current,
                      labels=INFO_FIELD_LABELS, missing=info_missing_fields(h), minutes=_minutes(FORM_TIMEOUT),
                      question=ctx.render("ledger_form_ask", step=FORM_STEPS[0], n=1,
                                          current=current[FORM_STEPS[0]]))


def match_form(ctx: Context, msg: Message) -> dict[str, Any] | None:
    """While a cadre's 登记 is open (not timed out), their text and voice messages answer it."""
    if not is_cadre(ctx) or msg.kind not in ("text", "voice"):
        return None
    state = _state(ctx)
    if state is None or state.flow != FORM_FLOW or state.expires_at <= ctx.now():
        return None
    # Another command (登记 李四, 宣传 全部, 日记 …) is not an answer: it runs, and the form stays open for the
    # next answer. The cancel words (撤销 among them) do belong to the form.
    if _fold(msg.text) not in CANCEL_WORDS and keywords.parse(msg.text) is not None:
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
    word = _fold(text)
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
            answers[step] = _to_json(step, PARSERS[step](text))
        except Invalid as e:
            state.expires_at = ctx.now() + FORM_TIMEOUT
            ctx.session.flush()
            return ctx.render("ledger_form_invalid", step=step, reason=str(e),
                              question=_ask(ctx, h, step, n))
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
        return ctx.render("ledger_form_confirm", head=h.head_name, changes=changes, labels=INFO_FIELD_LABELS,
                          complete=not _missing_after(h, answers), population=h.population,
                          listed=listed if listed is not None and listed != h.population else None)
    return _ask(ctx, h, next_step, n + 1)


def _ask(ctx: Context, h: Household, step: str, n: int, help_: bool = False) -> str:
    if step == "confirm":
        return ctx.render("ledger_form_confirm_again")
    return ctx.render("ledger_form_ask", step=step, n=n, current=format_field(step, getattr(h, step)), help=help_)


def _changes(h: Household, answers: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for f in INFO_FIELDS:
        if f in answers:
            out.append((f, format_field(f, getattr(h, f)), format_field(f, _from_json(f, answers[f]))))
    return out


def _missing_after(h: Household, answers: dict[str, Any]) -> list[str]:
    probe = Household(**{f: _from_json(f, answers[f]) if f in answers else getattr(h, f) for f in INFO_FIELDS})
    return info_missing_fields(probe)


def _history_value(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if name == "members":
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _save_form(ctx: Context, msg: Message, state: ConversationState, h: Household, answers: dict[str, Any],
               cadre: Cadre) -> str:
    now = ctx.now()
    by = _by(cadre)
    previous: dict[str, Any] = {
        "batch": uuid.uuid4().hex,
        "fields": {f: _to_json(f, getattr(h, f)) for f in answers},
        "info_updated_at": _iso(h.info_updated_at),
        "info_updated_by": h.info_updated_by,
    }
    # Household.population stays as the link list has it (the office's import owns it; a re-import of the
    # same file must change nothing); the confirmation points out a difference instead.
    values = {f: _from_json(f, answers[f]) for f in answers}
    for f, new in values.items():
        old = getattr(h, f)
        if _history_value(f, old) != _history_value(f, new):
            ctx.session.add(HouseholdInfoHistory(household_id=h.id, changed_at=now, changed_by=by, field=f,
                                                 old_value=_history_value(f, old), new_value=_history_value(f, new)))
        setattr(h, f, new)
    h.info_updated_at = now
    h.info_updated_by = by
    day = _message_day(ctx, msg)
    ctx.session.add(DutyRecord(household_id=h.id, cadre_id=cadre.id, duty="info", done_on=day, previous=previous,
                               recorded_by=by, created_at=now))
    _end_form(ctx, state)
    missing = info_missing_fields(h)
    return ctx.render("ledger_form_saved", head=h.head_name, missing=missing, labels=INFO_FIELD_LABELS,
                      minutes=_minutes(UNDO_WINDOW))


def _restore_info(ctx: Context, h: Household, prev: dict[str, Any], cadre: Cadre, now: datetime) -> None:
    for f, old in (prev.get("fields") or {}).items():
        restored = _from_json(f, old)
        current = getattr(h, f)
        if _history_value(f, current) != _history_value(f, restored):
            ctx.session.add(HouseholdInfoHistory(household_id=h.id, changed_at=now, changed_by=f"{_by(cadre)} 撤销",
                                                 field=f, old_value=_history_value(f, current),
                                                 new_value=_history_value(f, restored)))
        setattr(h, f, restored)
    updated = prev.get("info_updated_at")
    h.info_updated_at = datetime.fromisoformat(updated) if updated else None
    h.info_updated_by = prev.get("info_updated_by")


# --------------------------------------------------------------------------------------------------
# Routes. bot/dispatch.py puts ROUTES in the first cadre slot: the open 登记 form sees the cadre's text
# before any other cadre route (help, 更多 and 绑定 still come first), and the ledger's 撤销 comes before
# the diary's.
# --------------------------------------------------------------------------------------------------

CONVERSATION_ROUTES: list[Route] = [Route("ledger.form", match_form, form_step)]

ROUTES: list[Route] = [
    *CONVERSATION_ROUTES,
    Route("ledger.register", when(is_cadre, command("登记")), register),
    Route("ledger.card", when(is_cadre, command("发卡")), card),
    Route("ledger.policy", when(is_cadre, command("宣传")), policy),
    Route("ledger.commitment", when(is_cadre, command("承诺")), commitment),
    Route("ledger.role", match_role, change_role),
    Route("ledger.undo", match_undo, undo),
]
