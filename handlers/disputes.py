"""`调解 M …`: a cadre's 矛盾调解 of their villager request M (storage/disputes.py holds the rules).

- `调解 M`: mark request M a dispute (its household is the first party);
- `调解 M 当事人 王五、赵六`: add parties by the head's name (the cadre's own households first, then the
  township's; a name that fits several households is left to the console, where the office chooses);
- `调解 M 结果 调解成功|转办|未调解 [说明]`: the outcome;
- `调解 M 说明…`: anything else is a mediation step, dated the message's day;
- `调解` alone: my disputes without an outcome.

Only the request's own cadre may (another cadre's number is answered like a missing one, as `回复 M`). `调解`
followed by anything but a number is not this command: a diary entry such as "调解 张家的宅基地纠纷" stays a diary
entry (the route does not match and the diary takes it).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from handlers import keywords
from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre, own_request
from storage import disputes
from storage.models import Cadre, Dispute, Household, VillagerRequest

_keyword = command("调解")
_PARTIES = ("当事人", "当事方", "双方", "对方")
_OUTCOME = ("结果", "结案", "调解结果")
_SEPARATORS = re.compile(r"[\s,，、;；/]+")
# a request number: digits after an optional #, then the end, a space, a separator or 号 (not "3起", "2户")
_NUMBER_ALONE = re.compile(r"\s*[#＃]?\s*\d+(?:$|[\s:：,，、号號])")


def match(ctx: Context, msg: Message) -> dict[str, Any] | None:
    """`调解` alone, or `调解` and a request number standing alone (`调解 12 …`, `调解 #12：…`, `调解 12号`);
    anything else is not this command: "调解 3起邻里纠纷" is a diary entry (a count, not a request number)."""
    parsed = _keyword(ctx, msg)
    if parsed is None:
        return None
    rest = parsed["rest"]
    if rest and not _NUMBER_ALONE.match(unicodedata.normalize("NFKC", rest)):
        return None
    return {"rest": rest}


def _split_word(rest: str, words: tuple[str, ...]) -> str | None:
    """The text after one of ``words`` at the start of ``rest`` (any width or Traditional form); None if absent."""
    folded = keywords.fold(rest)
    for w in sorted(words, key=len, reverse=True):
        if folded.startswith(w):
            # keep the original spelling of what follows (names, notes): a keyword's characters fold one to one
            return rest.strip()[len(w) :].lstrip(" \t\u3000:：,，").strip()
    return None


def handle(ctx: Context, msg: Message, rest: str) -> str:
    cadre = cadre_of(ctx)
    if not rest:
        return ctx.render("dispute_list", disputes=disputes.open_of_cadre(ctx.session, cadre.id))
    number, text = keywords.leading_number(rest)
    req = own_request(ctx, cadre, number)
    if req is None:
        return ctx.render("reply_not_found", number=number)
    if len(text) > disputes.MAX_TEXT:  # refused before the mark: bad input changes nothing
        return ctx.render("dispute_refused", request=req, reason=f"内容不能超过 {disputes.MAX_TEXT} 字")
    if _unusable(text):  # `当事人` without a name, `结果` without a known outcome: nothing is marked either
        return ctx.render("dispute_usage", request=req)
    dispute, marked = disputes.mark(ctx.session, request=req, by=f"cadre:{cadre.phone}", now=ctx.now())
    names = _split_word(text, _PARTIES)
    if names is not None:
        return _parties(ctx, cadre, req, dispute, names)
    outcome = _split_word(text, _OUTCOME)
    if outcome is not None:
        return _outcome(ctx, msg, cadre, req, dispute, outcome)
    if not text:
        return ctx.render(
            "dispute_marked", request=req, marked=marked, steps=disputes.steps_count(ctx.session, dispute.id)
        )
    try:
        disputes.add_step(
            ctx.session,
            dispute=dispute,
            day=ctx.message_day(msg),
            text=text,
            author=f"cadre:{cadre.phone}",
            now=ctx.now(),
        )
    except disputes.DisputeError as e:
        return ctx.render("dispute_refused", request=req, reason=str(e))
    return ctx.render(
        "dispute_step_saved",
        request=req,
        marked=marked,
        day=ctx.message_day(msg),
        steps=disputes.steps_count(ctx.session, dispute.id),
    )


def _unusable(text: str) -> bool:
    names = _split_word(text, _PARTIES)
    if names is not None:
        return not [n for n in _SEPARATORS.split(names) if n]
    outcome = _split_word(text, _OUTCOME)
    if outcome is not None:
        return (
            disputes.parse_outcome(keywords.fold(_SEPARATORS.split(outcome.strip(), maxsplit=1)[0])) is None
        )
    return False


def _parties(ctx: Context, cadre: Cadre, req: VillagerRequest, dispute: Dispute, names: str) -> str:
    wanted = [n for n in _SEPARATORS.split(names) if n]
    if not wanted:
        return ctx.render("dispute_usage", request=req)
    township_id = req.household.village.township_id
    added: list[Household] = []
    already: list[Household] = []
    unknown: list[str] = []
    several: list[str] = []
    for name in wanted:
        found = disputes.find_by_name(ctx.session, name=name, cadre_id=cadre.id, township_id=township_id)
        if not found.households:
            unknown.append(name)
        elif len(found.households) > 1:
            several.append(name)
        else:
            h = found.households[0]
            try:
                new = disputes.add_party(
                    ctx.session, dispute=dispute, household=h, by=f"cadre:{cadre.phone}", now=ctx.now()
                )
            except disputes.DisputeError as e:
                return ctx.render("dispute_refused", request=req, reason=str(e))
            (added if new else already).append(h)
    return ctx.render(
        "dispute_parties", request=req, added=added, already=already, unknown=unknown, several=several
    )


def _outcome(
    ctx: Context, msg: Message, cadre: Cadre, req: VillagerRequest, dispute: Dispute, text: str
) -> str:
    word, *more = _SEPARATORS.split(text.strip(), maxsplit=1)
    note = more[0] if more else ""
    code = disputes.parse_outcome(keywords.fold(word))
    if code is None:
        return ctx.render("dispute_usage", request=req)
    disputes.set_outcome(
        ctx.session,
        dispute=dispute,
        outcome=code,
        day=ctx.message_day(msg),
        note=note,
        by=f"cadre:{cadre.phone}",
    )
    return ctx.render("dispute_outcome", request=req, outcome=disputes.OUTCOMES[code], note=note.strip())


router = Router("disputes", is_cadre, (Route("disputes.mediate", match, handle),))
