"""What every ledger command shares: the undo window, the duties' names, and finding the cadre's own
households by name or card number (another cadre's household is refused by name, never changed)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from handlers import keywords
from handlers.base import Context
from storage import cards
from storage.models import Cadre, Household, Link
from storage.register import in_programme

UNDO_WINDOW = timedelta(minutes=10)

# 发卡 / 宣传 / 承诺 / 登记: which duty, and its Chinese name for replies.
DUTY_NAMES: dict[str, str] = {
    "card": "便民服务卡发放",
    "policy": "惠农政策宣传",
    "commitment": "工作承诺书签订",
    "info": "民情信息登记",
}


def fold_word(text: str) -> str:
    """A typed word folded for comparison with the word lists (full width, Traditional, final 。)."""
    return keywords.fold(text or "").rstrip("。.!！~～")


def by_cadre(cadre: Cadre) -> str:
    return f"cadre:{cadre.phone}"


def whole_minutes(td: timedelta) -> int:
    return int(td.total_seconds() // 60)


def iso(d: date | datetime | None) -> str | None:
    return d.isoformat() if d is not None else None


def iso_date(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


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
    return list(
        ctx.session.scalars(
            select(Household)
            .join(Link, Link.household_id == Household.id)
            .where(Link.cadre_id == cadre_id, Household.purged_at.is_(None), in_programme())
            .order_by(Household.id)
        )
    )


def resolve(ctx: Context, cadre_id: int, words: list[str]) -> Targets:
    """Each word is a card number or a head's name; only the cadre's own households are found. A name of another
    cadre's household is "not yours"; a number that is not the cadre's own is "not found", whoever holds it."""
    t = Targets()
    seen: set[int] = set()
    for w in words:
        number = keywords.looks_like_card_number(w)
        if number is not None:
            card = cards.by_number(ctx.session, number)
            candidates = [card.household] if card is not None and card.household.purged_at is None else []
        else:
            candidates = list(
                ctx.session.scalars(
                    select(Household).where(Household.head_name == w, Household.purged_at.is_(None))
                )
            )
        # a closed household (storage/register.py) has no duties left: as if it were not the cadre's
        own = [
            h
            for h in candidates
            if h.link is not None and h.link.cadre_id == cadre_id and h.closed_on is None
        ]
        if len(own) == 1:
            if own[0].id not in seen:
                seen.add(own[0].id)
                t.found.append(own[0])
        elif len(own) > 1:
            t.ambiguous.append(w)
        elif candidates and number is None:
            t.not_theirs.append(w)
        else:
            # Another cadre's card number is answered as a missing one: "not yours" would tell whoever holds a
            # cadre's WeChat which numbers are real, 200 to a message (issue 21: card numbers are credentials).
            t.not_found.append(w)
    return t


def card_number(h: Household) -> str:
    return h.card.number if h.card is not None else ""
