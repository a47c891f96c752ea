"""Diary mentions: which of a cadre's households a diary entry names, and the links recorded for it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from storage.models import (
    DiaryEntry,
    DiaryMention,
    Household,
    Link,
    ServiceCard,
)
from storage.register import in_programme


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


# Built once per process (run for every chat diary entry): SQLAlchemy memoises a built statement's cache key.
_CADRE_NAMES = (
    select(Household.id, Household.head_name, ServiceCard.number)
    .join(Link, Link.household_id == Household.id)
    .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
    .where(Link.cadre_id == bindparam("b_cadre"), Household.purged_at.is_(None), in_programme())
)


def named_households(rows: Iterable[Sequence[Any]], text: str) -> set[int]:
    """The ids among ``rows`` (household id, head name, card number) that the NFKC-normalised ``text`` names,
    by the rules of ``find_mentions``. Each name is searched with str.find (re.finditer(re.escape(name))
    compiled a pattern per name, past re's cache)."""
    rows = list(rows)
    found: set[int] = set()
    numbers = set(re.findall(r"\d+", text))
    for hid, _, number in rows:
        if number and number in numbers:
            found.add(hid)
    # Names: longest first, each occurrence claims its span so shorter names inside it do not match.
    claimed: list[tuple[int, int]] = []
    by_name: dict[str, list[int]] = {}
    for hid, head_name, _ in rows:
        name = _normalize(head_name or "").strip()
        if len(name) >= 2:
            by_name.setdefault(name, []).append(hid)
    for name in sorted(by_name, key=len, reverse=True):
        start = text.find(name)
        while start >= 0:  # non-overlapping occurrences, left to right
            span = (start, start + len(name))
            start = text.find(name, span[1])
            if any(s <= span[0] and span[1] <= e for s, e in claimed):
                continue
            claimed.append(span)
            found.update(by_name[name])
    return found


def find_mentions(session: Session, *, cadre_id: int, text: str) -> list[Household]:
    """The cadre's own households a diary text names, by head name (2+ characters) or card number.

    One-character names are ignored (they would match everywhere); when a longer name covers a shorter one
    at the same place ("张三丰" and "张三"), only the longer one counts. Card numbers must stand alone as a
    number (not part of a longer digit run).
    """
    text = _normalize(text)
    if not text.strip():
        return []
    # Every chat diary entry runs this: read plain columns (not ~30 Household objects).
    # On the session's connection, not Session.execute: the ORM's execution and row loading for three plain
    # columns cost more than the statement (a sixth of a diary's Python time, bench/layers.py --profile).
    rows = session.connection().execute(_CADRE_NAMES, {"b_cadre": cadre_id}).all()
    found = named_households(rows, text)
    if not found:
        return []
    return list(session.scalars(select(Household).where(Household.id.in_(found)).order_by(Household.id)))


def link_mentions(session: Session, entry: DiaryEntry, *, new: bool = False) -> list[Household]:
    """Write the DiaryMention rows of a diary entry (replacing earlier ones) and return the households named.
    ``new=True``: the entry was just inserted, so it has no earlier rows to delete (one statement less for every
    chat diary entry)."""
    if entry.id is None:
        session.flush()  # the entry needs its id
    households = find_mentions(session, cadre_id=entry.cadre_id, text=entry.text or "")
    if not new:
        session.execute(delete(DiaryMention).where(DiaryMention.diary_id == entry.id))
    for h in households:
        session.add(DiaryMention(diary_id=entry.id, household_id=h.id))
    if households:
        session.flush()
    return households
