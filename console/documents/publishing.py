"""Publishing a circular (the office's act): build the period's report once, render it as json, xlsx, html and
PDF, and hand the files to handlers.circular_notices, which freezes them (storage/circulars.py) and tells each
bound cadre their own figures. Shared by ``lianxin report publish`` and the console's 发布 button.

A township publishes its own circular (its cadres ranked among themselves, each pushed their own rank); the county
may publish the county report (``publish_county``: townships ranked, no pushes — each cadre hears their township's).

The PDF is printed by headless Chromium from the same HTML; where Chromium is missing the circular is still
published (json, xlsx, html) and the caller is told the PDF is missing, rather than the office being unable to
publish at all.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from console.documents import county_report
from console.documents import insights as insights_document
from console.documents.printing import PrintError, html_to_pdf
from console.documents.report import render
from handlers import circular_notices
from storage import circulars
from storage.assessment import build_report
from storage.assessment.county import build_county_report
from storage.config import Config
from storage.periods import parse_period


@dataclass(frozen=True)
class Outcome:
    published: bool  # False: the period had been published already, nothing changed
    pushes: int
    cadres: int
    formats: tuple[str, ...]
    pdf_error: str | None = None


def _ended(config: Config, kind: str, period: str, now: datetime) -> str:
    p = parse_period(kind, period)
    if not p.ended(now.astimezone(config.tz).date()):
        raise ValueError(f"{p.key} 还没有结束，结束后才能发布 / the period has not ended yet")
    return p.key


def _with_pdf(files: dict[str, bytes], masked_html: bytes) -> str | None:
    """Print ``masked_html`` (the report with phones masked, as the console shows them: the PDF is what gets
    printed, posted and passed round) to PDF into ``files``; the error when Chromium cannot."""
    try:
        with tempfile.TemporaryDirectory(prefix="lianxin-publish-") as tmp:
            files["pdf"] = html_to_pdf(masked_html.decode("utf-8"), Path(tmp) / "circular.pdf").read_bytes()
    except PrintError as e:
        return str(e)
    return None


def publish(
    session: Session,
    config: Config,
    kind: str,
    period: str,
    *,
    township: tuple[int, str] | None,
    actor: str,
    now: datetime,
) -> Outcome:
    """Publish the township's ``period`` (ValueError for a period that is not a valid one or has not ended yet).
    ``township`` None: a deployment with no township yet (nothing imported)."""
    key = _ended(config, kind, period, now)
    tid = township[0] if township else None
    if tid is None:
        raise ValueError("尚无乡镇的数据，请先导入联户名单 / nothing imported yet")
    if circulars.is_published(session, kind, key, tid):
        return Outcome(False, 0, 0, ())
    report = build_report(session, config, kind, key, now=now, township=township)
    insights_document.attach(session, config, report, tid)  # the month's xlsx gains 民情热点
    files = {fmt: render(report, fmt) for fmt in ("json", "xlsx", "html")}
    pdf_error = _with_pdf(files, render(report, "html", mask_phones=True))
    data: dict[str, Any] = json.loads(files["json"])
    done, pushes = circular_notices.publish_circular(
        session,
        kind=kind,
        period=report.period,
        township_id=tid,
        report=data,
        files=files,
        actor=actor,
        now=now,
        tz=config.tz,
    )
    return Outcome(done, pushes, len(report.cadres), tuple(files), pdf_error)


def publish_county(
    session: Session, config: Config, kind: str, period: str, *, actor: str, now: datetime
) -> Outcome:
    """Publish the county report of ``period`` (stored as the county's: township None). Nobody is pushed."""
    key = _ended(config, kind, period, now)
    if circulars.is_published(session, kind, key, None):
        return Outcome(False, 0, 0, ())
    data = build_county_report(session, config, kind, key, now=now)
    files = {fmt: county_report.render(data, fmt) for fmt in ("json", "xlsx", "html")}
    pdf_error = _with_pdf(files, county_report.render(data, "html", mask_phones=True))
    done = circulars.publish(
        session, kind=kind, period=data["period"], township_id=None, files=files, actor=actor, now=now
    )
    return Outcome(done, 0, len(data["cadres"]), tuple(files), pdf_error)
