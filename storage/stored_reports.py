"""Keeping a built report as StoredReport rows, one per format (replaced on a re-run).

The rendering (json, xlsx, html) belongs to the documents above storage (console/documents/report.py), so it
is passed in as ``render``; this module only builds the data and stores what it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.assessment import Report, build_report
from storage.audit import record
from storage.config import Config
from storage.models import StoredReport

FORMATS = ("json", "xlsx", "html")


def store_report(session: Session, config: Config, kind: str, period: str, now: datetime, *,
                 render: Callable[[Report, str], bytes], actor: str = "scheduler") -> Report:
    """Build the report and keep its json, xlsx and html (``render(report, fmt)``) as StoredReport rows.

    Does not commit (the caller owns the transaction). Audited as ``report.store``.
    """
    report = build_report(session, config, kind, period, now=now)
    for fmt in FORMATS:
        content = render(report, fmt)
        row = session.scalar(select(StoredReport).where(StoredReport.kind == kind, StoredReport.period == report.period,
                                                        StoredReport.format == fmt))
        if row is None:
            session.add(StoredReport(kind=kind, period=report.period, format=fmt, content=content, created_at=now))
        else:
            row.content, row.created_at = content, now
    session.flush()
    record(session, actor=actor, action="report.store", target=f"{kind}:{report.period}",
           detail={"formats": list(FORMATS), "cadres": len(report.cadres)})
    return report
