"""Keeping a built report as StoredReport rows, one per format (replaced on a re-run).

The rendering (json, xlsx, html) belongs to the documents above storage (console/documents/report.py), so it
is passed in as ``render``; this module only builds the data and stores what it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from storage.assessment import Report, build_report
from storage.audit import record
from storage.config import Config
from storage.models import StoredReport

FORMATS = ("json", "xlsx", "html")


def _of(township_id: int | None) -> ColumnElement[bool]:
    return (
        StoredReport.township_id.is_(None) if township_id is None else StoredReport.township_id == township_id
    )


def is_stored(session: Session, kind: str, period: str, township_id: int | None) -> bool:
    return (
        session.scalar(
            select(StoredReport.id).where(
                StoredReport.kind == kind,
                StoredReport.period == period,
                StoredReport.format == "json",
                _of(township_id),
            )
        )
        is not None
    )


def store_report(
    session: Session,
    config: Config,
    kind: str,
    period: str,
    now: datetime,
    *,
    render: Callable[[Report, str], bytes],
    actor: str = "scheduler",
    township: tuple[int, str] | None = None,
) -> Report:
    """Build the report of ``township`` (None: the whole deployment, before any township exists) and keep its json,
    xlsx and html (``render(report, fmt)``) as StoredReport rows of that township.

    Does not commit (the caller owns the transaction). Audited as ``report.store``.
    """
    report = build_report(session, config, kind, period, now=now, township=township)
    tid = township[0] if township else None
    for fmt in FORMATS:
        content = render(report, fmt)
        row = session.scalar(
            select(StoredReport).where(
                StoredReport.kind == kind,
                StoredReport.period == report.period,
                StoredReport.format == fmt,
                _of(tid),
            )
        )
        if row is None:
            session.add(
                StoredReport(
                    kind=kind,
                    period=report.period,
                    format=fmt,
                    content=content,
                    created_at=now,
                    township_id=tid,
                )
            )
        else:
            row.content, row.created_at = content, now
    session.flush()
    record(
        session,
        actor=actor,
        action="report.store",
        target=f"{kind}:{report.period}" + (f":township:{tid}" if tid is not None else ""),
        detail={"formats": list(FORMATS), "cadres": len(report.cadres)},
    )
    return report
