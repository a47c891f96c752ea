"""重点人群 tags of a household (issue 24 item 6): 低保户, 特困户, 监测户, 脱贫户, 独居老人, 留守儿童, 残疾人 …

Where they come from: the link list's optional column 重点人群 (tags separated by 、 or ,; a list with the column
sets each named household's tags to its cell, an empty cell clearing them; a list without it leaves them alone),
``lianxin household add --tag``, and the office's household page. Which tags: the known ones (``KNOWN``) and
free ones — a township has its own (e.g. 退役军人) — of at most ``MAX_LEN`` characters, letters and digits only.

Who sees them: the office (console admins) — the households page and the ledger filter by them — and the
household's own cadre (the 农户 reply, handlers/me.py); nobody else: not a village account, and never the public
listing, a service card, a push or a page under public_url (none of those read this module;
tests/test_household_tags.py checks each place). Functions take ``session`` and never commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import ColumnElement, delete, insert, select
from sqlalchemy.orm import Session

from storage.models import Household, HouseholdTag

KNOWN = (
    "低保户",
    "特困户",
    "监测户",
    "脱贫户",
    "独居老人",
    "留守儿童",
    "残疾人",
    "空巢老人",
    "重病户",
    "五保户",
)
MAX_LEN = 10
MAX_TAGS = 10
_SPLIT = re.compile(r"[、,，;；\s]+")
_TAG = re.compile(r"[\w\u4e00-\u9fff]+")


class TagError(ValueError):
    """A cell or a form field that does not hold tags; the message says why (in Chinese)."""


def parse(text: str | Iterable[str]) -> list[str]:
    """The tags in ``text`` (a cell: separated by 、 , ， ; or spaces; or a list of them), in order, without
    repeats; TagError for one too long, with other characters, or too many."""
    parts = _SPLIT.split(text) if isinstance(text, str) else [p for t in text for p in _SPLIT.split(t)]
    tags = list(dict.fromkeys(p.strip() for p in parts if p and p.strip()))
    for t in tags:
        if len(t) > MAX_LEN:
            raise TagError(f"标签「{t}」过长（最多 {MAX_LEN} 字）")
        if not _TAG.fullmatch(t):
            raise TagError(f"标签「{t}」含有标点或符号；多个标签用「、」或「,」分隔")
    if len(tags) > MAX_TAGS:
        raise TagError(f"标签过多（最多 {MAX_TAGS} 个）")
    return tags


def tags_of(session: Session, household_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(household_ids)
    out: dict[int, list[str]] = {}
    if not ids:
        return out
    for hid, tag in session.execute(
        select(HouseholdTag.household_id, HouseholdTag.tag)
        .where(HouseholdTag.household_id.in_(ids))
        .order_by(HouseholdTag.household_id, HouseholdTag.tag)
    ):
        out.setdefault(hid, []).append(tag)
    return out


CHUNK = 5000  # ids per IN (…): a list of 100,000 households stays under the drivers' parameter limits


def replace(session: Session, tags: Mapping[int, list[str]], *, actor: str, now: datetime) -> int:
    """Each household's tags become exactly the given ones; how many households changed. A whole list's
    households at once: the stored tags are read in one pass (few households carry any), not per household."""
    current: dict[int, list[str]] = {}
    if len(tags) > CHUNK:
        for hid, tag in session.execute(select(HouseholdTag.household_id, HouseholdTag.tag)):
            if hid in tags:
                current.setdefault(hid, []).append(tag)
    else:
        current = tags_of(session, tags.keys())
    changed = [hid for hid, new in tags.items() if sorted(new) != sorted(current.get(hid, []))]
    if not changed:
        return 0
    for i in range(0, len(changed), CHUNK):
        part = [hid for hid in changed[i : i + CHUNK] if hid in current]
        if part:
            session.execute(delete(HouseholdTag).where(HouseholdTag.household_id.in_(part)))
    rows = [
        {"household_id": hid, "tag": t, "added_at": now, "added_by": actor}
        for hid in changed
        for t in tags[hid]
    ]
    if rows:
        session.execute(insert(HouseholdTag), rows)
    return len(changed)


def has_tag(tag: str) -> ColumnElement[bool]:
    """SQL: the household carries ``tag`` (the households page's and the ledger's filter)."""
    return Household.id.in_(select(HouseholdTag.household_id).where(HouseholdTag.tag == tag.strip()))


def known_tags(session: Session) -> list[str]:
    """The tags to offer in a filter: the known ones, then those in use."""
    used = list(session.scalars(select(HouseholdTag.tag).distinct().order_by(HouseholdTag.tag)))
    return list(dict.fromkeys([*KNOWN, *used]))
