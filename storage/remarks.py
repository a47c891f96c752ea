"""The office's word on a period: the 季点评 (a comment per village and per cadre for a quarter) and the
年考核's commendations (表彰: cadres commended for a year, each with a short reason).

Stored as OfficeRemark rows, one per kind, period and subject; ``attach`` puts them on a built report
(storage/assessment calls it), so every rendering of the report — html, xlsx, json, the PDF — prints them,
and a published report keeps them as they were when it was published. Functions take ``session``, never
commit, audit every change, and refuse bad input with a ``RemarkError`` before changing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.models import Cadre, OfficeRemark, Township, Village
from storage.periods import parse_period

COMMENT_MAX = 500
REASON_MAX = 100


class RemarkError(ValueError):
    """Bad input: the message says what is wrong; nothing was changed."""


@dataclass(frozen=True)
class Commendation:
    cadre: Cadre
    village: str
    reason: str
    written_by: str
    written_at: datetime


def quarter_key(period: str) -> str:
    try:
        return parse_period("quarter", period or "").key
    except ValueError as e:
        raise RemarkError(str(e)) from None


def year_key(period: str) -> str:
    try:
        return parse_period("year", period or "").key
    except ValueError as e:
        raise RemarkError(str(e)) from None


def _text(text: str | None, limit: int, what: str) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise RemarkError(f"{what}不超过 {limit} 字（现有 {len(text)} 字） / longer than {limit} characters")
    return text


def _row(session: Session, kind: str, period: str, subject: str) -> OfficeRemark | None:
    return session.scalar(
        select(OfficeRemark).where(
            OfficeRemark.kind == kind, OfficeRemark.period == period, OfficeRemark.subject == subject
        )
    )


def _put(
    session: Session,
    *,
    kind: str,
    period: str,
    cadre: Cadre | None,
    village: Village | None,
    text: str,
    actor: str,
    now: datetime,
) -> str:
    """Write (or, for empty ``text``, remove) one remark: 'saved', 'removed' or 'unchanged'."""
    subject = f"cadre:{cadre.id}" if cadre is not None else f"village:{village.id}"  # type: ignore[union-attr]
    row = _row(session, kind, period, subject)
    label = f"cadre:{cadre.phone}" if cadre is not None else f"village:{village.name}"  # type: ignore[union-attr]
    if not text:
        if row is None:
            return "unchanged"
        session.delete(row)
        audit.record(
            session,
            actor=actor,
            action=f"remark.{kind}_remove",
            target=f"{kind}:{period}:{label}",
            detail={"was": row.text},
        )
        return "removed"
    if row is not None and row.text == text:
        return "unchanged"
    was = row.text if row is not None else None
    if row is None:
        session.add(
            OfficeRemark(
                kind=kind,
                period=period,
                subject=subject,
                text=text,
                written_by=actor,
                written_at=now,
                cadre_id=cadre.id if cadre is not None else None,
                village_id=village.id if village is not None else None,
            )
        )
    else:
        row.text, row.written_by, row.written_at = text, actor, now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"remark.{kind}",
        target=f"{kind}:{period}:{label}",
        detail={"text": text, "was": was},
    )
    return "saved"


def set_comment(
    session: Session,
    *,
    quarter: str,
    text: str | None,
    actor: str,
    now: datetime,
    cadre: Cadre | None = None,
    village: Village | None = None,
) -> str:
    """The office's 点评 of ``cadre`` or ``village`` for ``quarter`` ('2026Q4'); empty text removes it."""
    if (cadre is None) == (village is None):
        raise RemarkError("点评对象应为一名干部或一个村(居) / one cadre or one village")
    return _put(
        session,
        kind="comment",
        period=quarter_key(quarter),
        cadre=cadre,
        village=village,
        text=_text(text, COMMENT_MAX, "点评"),
        actor=actor,
        now=now,
    )


def commend(
    session: Session, *, year: str, cadre: Cadre, reason: str | None, actor: str, now: datetime
) -> str:
    """Mark ``cadre`` commended (表彰) for ``year`` with a short reason (required)."""
    reason = _text(reason, REASON_MAX, "表彰事由")
    if not reason:
        raise RemarkError("请写明表彰事由 / the reason is required")
    return _put(
        session,
        kind="commend",
        period=year_key(year),
        cadre=cadre,
        village=None,
        text=reason,
        actor=actor,
        now=now,
    )


def uncommend(session: Session, *, year: str, cadre: Cadre, actor: str, now: datetime) -> str:
    return _put(
        session,
        kind="commend",
        period=year_key(year),
        cadre=cadre,
        village=None,
        text="",
        actor=actor,
        now=now,
    )


def remarks(session: Session, kind: str, period: str) -> dict[str, OfficeRemark]:
    """The remarks of a kind and period by subject ('cadre:<id>', 'village:<id>')."""
    return {
        r.subject: r
        for r in session.scalars(
            select(OfficeRemark).where(OfficeRemark.kind == kind, OfficeRemark.period == period)
        )
    }


def commendations(session: Session, year: str, *, township_id: int | None = None) -> list[Commendation]:
    """The cadres commended for ``year`` (of one township, or every one), by village and name."""
    stmt = (
        select(OfficeRemark, Cadre, Village.name)
        .join(Cadre, Cadre.id == OfficeRemark.cadre_id)
        .outerjoin(Village, Village.id == Cadre.village_id)
        .where(OfficeRemark.kind == "commend", OfficeRemark.period == year_key(year))
        .order_by(Village.name, Cadre.name, Cadre.id)
    )
    if township_id is not None:
        stmt = stmt.where(Cadre.township_id == township_id)
    rows = session.execute(stmt)
    return [Commendation(c, v or "", r.text, r.written_by, r.written_at) for r, c, v in rows]


def attach(session: Session, report: Any) -> None:
    """Put the period's remarks on a built report: ``comment`` on the cadre and village rows of a quarter,
    ``commended`` / ``commendation`` on the cadre rows of a year."""
    if report.kind == "quarter":
        found = remarks(session, "comment", report.period)
        if not found:
            return
        for row in report.cadres:
            r = found.get(f"cadre:{row.cadre_id}")
            row.comment = r.text if r else None
        # A village row is named as the report names it: the village, or "乡镇·村" where the report spans
        # several townships (village names repeat across a county); map both forms to the village's id.
        ids: dict[str, int] = {}
        for village_id, name, township in session.execute(
            select(Village.id, Village.name, Township.name).join(Township, Township.id == Village.township_id)
        ):
            ids[f"{township}·{name}"] = village_id
            if report.township in (township, "") or name not in ids:
                ids[name] = village_id
        for group in report.villages:
            r = found.get(f"village:{ids.get(group.name)}")
            group.comment = r.text if r else None
    elif report.kind == "year":
        found = remarks(session, "commend", report.period)
        for row in report.cadres:
            r = found.get(f"cadre:{row.cadre_id}")
            row.commended, row.commendation = r is not None, r.text if r else None
