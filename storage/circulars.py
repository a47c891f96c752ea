"""Published circulars: the office's act of publishing a period's report, frozen as the files it published.

``publish`` stores every file of a period at once and only once: publishing the same period again changes
nothing and returns False, so whoever tells the cadres (handlers/circular_notices.py) tells them once. The
stored JSON is the source of each cadre's own figures afterwards (chat 排名), never a rebuilt report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import audit
from storage.models import PublishedReport

FORMATS = ("json", "xlsx", "html", "pdf")


@dataclass(frozen=True)
class Published:
    kind: str
    period: str
    formats: tuple[str, ...]
    published_at: datetime
    published_by: str


def is_published(session: Session, kind: str, period: str) -> bool:
    return session.scalar(select(PublishedReport.id).where(PublishedReport.kind == kind,
                                                           PublishedReport.period == period).limit(1)) is not None


def publish(session: Session, *, kind: str, period: str, files: dict[str, bytes], actor: str, now: datetime) -> bool:
    """Store ``files`` (format → bytes, json among them) as the published circular; False when the period was
    published already (nothing changes). Audited."""
    if "json" not in files:
        raise ValueError("a published circular needs its json")
    if is_published(session, kind, period):
        return False
    try:
        with session.begin_nested():  # two offices clicking at once: the unique key keeps one
            for fmt, content in files.items():
                session.add(PublishedReport(kind=kind, period=period, format=fmt, content=content, published_at=now,
                                            published_by=actor))
    except IntegrityError:
        return False
    audit.record(session, actor=actor, action="report.publish", target=f"{kind}:{period}",
                 detail={"formats": sorted(files)})
    return True


def published(session: Session) -> list[Published]:
    """Every published circular, newest first."""
    rows = session.execute(select(PublishedReport.kind, PublishedReport.period, PublishedReport.format,
                                  PublishedReport.published_at, PublishedReport.published_by)
                           .order_by(PublishedReport.published_at.desc(), PublishedReport.id)).all()
    out: dict[tuple[str, str], Published] = {}
    for kind, period, fmt, at, by in rows:
        p = out.get((kind, period))
        out[(kind, period)] = Published(kind, period, (*p.formats, fmt) if p else (fmt,), at, by)
    return list(out.values())


def stored_file(session: Session, kind: str, period: str, fmt: str) -> bytes | None:
    return session.scalar(select(PublishedReport.content).where(
        PublishedReport.kind == kind, PublishedReport.period == period, PublishedReport.format == fmt))


def latest_cadre_row(session: Session, phone: str, kind: str = "month") -> tuple[str, dict[str, Any], int] | None:
    """(period, the cadre's row, number of cadres ranked) in the latest published circular of ``kind`` that
    lists the cadre; None when none does."""
    rows = session.execute(select(PublishedReport.period, PublishedReport.content).where(
        PublishedReport.kind == kind, PublishedReport.format == "json").order_by(PublishedReport.period.desc())).all()
    for period, content in rows:
        data = json.loads(content)
        ranked = sum(1 for r in data.get("cadres", []) if r.get("rank") is not None)
        for row in data.get("cadres", []):
            if row.get("phone") == phone:
                return period, row, ranked
    return None
