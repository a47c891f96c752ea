"""民情分析: what villagers asked about in a month and how it moved — counts by category and village, the words they
used most, the slowest categories, and how many households asked three times or more (a count, never who).

One home for the figures that the console's 热点 page, ``lianxin insights month`` and the month report's xlsx
sheet show (console/documents/insights.py renders them). Personal data stays out: no names, phones or card
numbers, and the keywords are filtered — every digit run is dropped (phones, card numbers, house numbers) and so
is every word that is, or is part of, or contains the name of one of the township's people (household heads,
their members, cadres); the names are cut out of the text before it is split into words.

The words come from a splitter the caller passes (``words``: handlers/policy.py's jieba loader, which storage may
not import). The departments' figures (转办, helper P3-E's work) come in through ``slowest_departments``, a hook
that takes rows of department figures: nothing here reads a department table.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Cadre, Household, Village, VillagerRequest
from storage.periods import Period

REPEAT_ASKS = 3  # a household that asked this many times in the month or more is a repeat asker
TOP_KEYWORDS = 30
SLOWEST = 3
_DIGITS = re.compile(r"\d")

Words = Callable[[str], list[str]]


@dataclass
class CategoryCount:
    name: str
    count: int
    answered_in_time: int
    previous_count: int = 0  # the month before: how it moved
    answered: int = 0
    avg_answer_hours: float | None = None  # first answers only; None: none answered


@dataclass
class KeywordCount:
    word: str
    count: int  # requests that used the word


@dataclass
class VillageInsight:
    name: str
    requests: int
    categories: list[CategoryCount]
    keywords: list[KeywordCount] = field(default_factory=list)


@dataclass
class Insights:
    period: str
    village: str | None  # the one village asked for; None: the township's
    requests: int
    categories: list[CategoryCount]
    keywords: list[KeywordCount]
    villages: list[VillageInsight]
    slowest_categories: list[CategoryCount]
    repeat_askers: int  # households with REPEAT_ASKS requests or more in the month (a count, no names)
    slowest_departments: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of PRODUCT.md ("The station"): period, categories, keywords, villages first."""
        d = asdict(self)
        return {k: d[k] for k in ("period", "categories", "keywords", "villages")} | {
            k: v for k, v in d.items() if k not in ("period", "categories", "keywords", "villages")
        }


@dataclass(frozen=True)
class _Asked:
    village: str
    household_id: int
    category: str
    text: str
    hours: float | None  # to the first answer; None: not answered


def _requests(
    session: Session, period: Period, tz: ZoneInfo, township_id: int | None, village_id: int | None
) -> list[_Asked]:
    start, end = period.utc_range(tz)
    stmt = (
        select(VillagerRequest, Village.name)
        .join(Household, Household.id == VillagerRequest.household_id)
        .join(Village, Village.id == Household.village_id)
        .where(VillagerRequest.created_at >= start, VillagerRequest.created_at < end)
        .order_by(VillagerRequest.id)
    )
    if township_id is not None:
        stmt = stmt.where(Village.township_id == township_id)
    if village_id is not None:
        stmt = stmt.where(Village.id == village_id)
    out = []
    for r, village in session.execute(stmt).tuples():
        hours = _hours(r.created_at, r.first_answer_at)
        out.append(_Asked(village, r.household_id, r.category, r.text or "", hours))
    return out


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max(0.0, (end - start).total_seconds() / 3600)


def _categories(asked: list[_Asked], before: list[_Asked], sla_hours: int) -> list[CategoryCount]:
    previous = Counter(a.category for a in before)
    by: dict[str, list[_Asked]] = defaultdict(list)
    for a in asked:
        by[a.category].append(a)
    out = []
    for name, rows in by.items():
        hours = [a.hours for a in rows if a.hours is not None]
        out.append(
            CategoryCount(
                name=name,
                count=len(rows),
                answered_in_time=sum(1 for h in hours if h <= sla_hours),
                previous_count=previous.get(name, 0),
                answered=len(hours),
                avg_answer_hours=round(sum(hours) / len(hours), 1) if hours else None,
            )
        )
    for name, n in previous.items():
        if name not in by:
            out.append(CategoryCount(name=name, count=0, answered_in_time=0, previous_count=n))
    return sorted(out, key=lambda c: (-c.count, -c.previous_count, c.name))


def _slowest(categories: list[CategoryCount]) -> list[CategoryCount]:
    """The categories answered slowest on average (answered ones; ties: fewer answered in time first)."""
    timed = [c for c in categories if c.avg_answer_hours is not None]
    return sorted(timed, key=lambda c: (-(c.avg_answer_hours or 0), c.answered_in_time / max(c.count, 1)))[
        :SLOWEST
    ]


def people_names(session: Session, township_id: int | None) -> set[str]:
    """Every name of the township's people (household heads, their members, cadres): kept out of the keywords."""
    heads = select(Household.head_name, Household.members).join(Village, Village.id == Household.village_id)
    cadres = select(Cadre.name)
    if township_id is not None:
        heads = heads.where(Village.township_id == township_id)
        cadres = cadres.where(Cadre.township_id == township_id)
    names: set[str] = set()
    for head, members in session.execute(heads):
        names.add(head or "")
        for m in members or []:
            if isinstance(m, dict) and isinstance(m.get("name"), str):
                names.add(m["name"])
    names.update(session.scalars(cadres))
    return {n.strip() for n in names if n and len(n.strip()) >= 2}


class KeywordFilter:
    """Splits a request's text into words with no personal data: names cut out first, then any word with a digit
    and any word that is, is part of, or contains a name dropped."""

    def __init__(self, words: Words, names: Iterable[str]) -> None:
        self.words = words
        self.names = sorted(set(names), key=len, reverse=True)
        self._cut = re.compile("|".join(re.escape(n) for n in self.names)) if self.names else None

    def __call__(self, text: str) -> list[str]:
        if self._cut is not None:
            text = self._cut.sub(" ", text)
        return [w for w in self.words(text) if self.allowed(w)]

    def allowed(self, word: str) -> bool:
        if _DIGITS.search(word):
            return False
        return not any(word in n or n in word for n in self.names)


def _keywords(asked: list[_Asked], split: KeywordFilter, top: int = TOP_KEYWORDS) -> list[KeywordCount]:
    counts: Counter[str] = Counter()
    for a in asked:
        counts.update(set(split(a.text)))
    return [KeywordCount(w, n) for w, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:top]]


def month(
    session: Session,
    *,
    period: Period,
    tz: ZoneInfo,
    sla_hours: int,
    words: Words,
    township_id: int | None = None,
    village_id: int | None = None,
    village_name: str | None = None,
) -> Insights:
    """The month's 民情分析 for the township (or one village of it)."""
    asked = _requests(session, period, tz, township_id, village_id)
    before = _requests(session, period.previous(), tz, township_id, village_id)
    split = KeywordFilter(words, people_names(session, township_id))
    categories = _categories(asked, before, sla_hours)
    by_village: dict[str, list[_Asked]] = defaultdict(list)
    for a in asked:
        by_village[a.village].append(a)
    before_by_village: dict[str, list[_Asked]] = defaultdict(list)
    for a in before:
        before_by_village[a.village].append(a)
    villages = [
        VillageInsight(
            name=name,
            requests=len(rows),
            categories=_categories(rows, before_by_village.get(name, []), sla_hours),
            keywords=_keywords(rows, split, top=10),
        )
        for name, rows in sorted(by_village.items(), key=lambda x: (-len(x[1]), x[0]))
    ]
    per_household = Counter(a.household_id for a in asked)
    return Insights(
        period=period.key,
        village=village_name,
        requests=len(asked),
        categories=categories,
        keywords=_keywords(asked, split),
        villages=villages,
        slowest_categories=_slowest(categories),
        repeat_askers=sum(1 for n in per_household.values() if n >= REPEAT_ASKS),
    )


def slowest_departments(rows: Iterable[Mapping[str, Any]], top: int = SLOWEST) -> list[dict[str, Any]]:
    """The hook for the departments' figures (转办, P3-E): rows ``{"name", "received", "answered_in_time", …}``
    → the ``top`` with the lowest share answered in time (departments with nothing received left out). The
    integrator connects it: ``insights.slowest_departments = slowest_departments(<the month's department rows>)``.
    """
    got = [dict(r) for r in rows if int(r.get("received") or 0) > 0]
    for r in got:
        r["in_time_share"] = round(int(r.get("answered_in_time") or 0) / int(r["received"]), 3)
    return sorted(got, key=lambda r: (r["in_time_share"], -int(r["received"]), str(r.get("name"))))[:top]
