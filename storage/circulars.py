"""Published circulars: the office's act of publishing a period's report, frozen as the files it published.

``publish`` stores every file of a period at once and only once: publishing the same period again changes
nothing and returns False, so whoever tells the cadres (handlers/circular_notices.py) tells them once. The
stored JSON is the source of each cadre's own figures afterwards (chat 排名), never a rebuilt report.

In a county every township publishes its own circular (``township_id``), and the county may publish the county
report (``township_id`` None): a period is published once per township and once for the county.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import audit
from storage.models import PublishedReport, Township

FORMATS = ("json", "xlsx", "html", "pdf")


@dataclass(frozen=True)
class Published:
    kind: str
    period: str
    formats: tuple[str, ...]
    published_at: datetime
    published_by: str
    township_id: int | None = None  # None: the county's report
    township: str | None = None


def _of(township_id: int | None) -> ColumnElement[bool]:
    return (
        PublishedReport.township_id.is_(None)
        if township_id is None
        else PublishedReport.township_id == township_id
    )


def _target(kind: str, period: str, township_id: int | None) -> str:
    return f"{kind}:{period}" + (":county" if township_id is None else f":township:{township_id}")


def is_published(session: Session, kind: str, period: str, township_id: int | None) -> bool:
    return (
        session.scalar(
            select(PublishedReport.id)
            .where(PublishedReport.kind == kind, PublishedReport.period == period, _of(township_id))
            .limit(1)
        )
        is not None
    )


def publish(
    session: Session,
    *,
    kind: str,
    period: str,
    township_id: int | None,
    files: dict[str, bytes],
    actor: str,
    now: datetime,
) -> bool:
    """Store ``files`` (format → bytes, json among them) as the published circular of the township (None: the
    county's); False when that township's period was published already (nothing changes). Audited."""
    if "json" not in files:
        raise ValueError("a published circular needs its json")
    if is_published(session, kind, period, township_id):
        return False
    try:
        with session.begin_nested():  # two offices clicking at once: the unique key keeps one
            for fmt, content in files.items():
                session.add(
                    PublishedReport(
                        kind=kind,
                        period=period,
                        format=fmt,
                        content=content,
                        published_at=now,
                        published_by=actor,
                        township_id=township_id,
                    )
                )
    except IntegrityError:
        return False
    audit.record(
        session,
        actor=actor,
        action="report.publish",
        target=_target(kind, period, township_id),
        detail={"formats": sorted(files)},
    )
    return True


def published(session: Session, township_id: int | None = None, *, every: bool = False) -> list[Published]:
    """The published circulars of one township, newest first; ``every``: every township's and the county's."""
    q = (
        select(
            PublishedReport.kind,
            PublishedReport.period,
            PublishedReport.format,
            PublishedReport.published_at,
            PublishedReport.published_by,
            PublishedReport.township_id,
            Township.name,
        )
        .outerjoin(Township, Township.id == PublishedReport.township_id)
        .order_by(PublishedReport.published_at.desc(), PublishedReport.id)
    )
    if not every:
        q = q.where(_of(township_id))
    out: dict[tuple[str, str, int | None], Published] = {}
    for kind, period, fmt, at, by, tid, name in session.execute(q).all():
        p = out.get((kind, period, tid))
        out[(kind, period, tid)] = Published(
            kind, period, (*p.formats, fmt) if p else (fmt,), at, by, tid, name
        )
    return list(out.values())


def stored_file(session: Session, kind: str, period: str, fmt: str, township_id: int | None) -> bytes | None:
    return session.scalar(
        select(PublishedReport.content).where(
            PublishedReport.kind == kind,
            PublishedReport.period == period,
            PublishedReport.format == fmt,
            _of(township_id),
        )
    )


def latest_cadre_row(
    session: Session, phone: str, township_id: int, kind: str = "month"
) -> tuple[str, dict[str, Any], int] | None:
    """(period, the cadre's row, number of cadres ranked) in the latest published circular of ``kind`` of the
    cadre's township that lists the cadre; None when none does."""
    rows = session.execute(
        select(PublishedReport.period, PublishedReport.content)
        .where(
            PublishedReport.kind == kind,
            PublishedReport.format == "json",
            PublishedReport.township_id == township_id,
        )
        .order_by(PublishedReport.period.desc())
    ).all()
    for period, content in rows:
        data = json.loads(content)
        ranked = sum(1 for r in data.get("cadres", []) if r.get("rank") is not None)
        for row in data.get("cadres", []):
            if row.get("phone") == phone:
                return period, row, ranked
    return None
