"""Publishing a circular (the office's act): build the period's report once, render it as json, xlsx, html and
PDF, and hand the files to handlers.circular_notices, which freezes them (storage/circulars.py) and tells each
bound cadre their own figures. Shared by ``lianxin report publish`` and the console's 发布 button.

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

from console.documents.printing import PrintError, html_to_pdf
from console.documents.report import render
from handlers import circular_notices
from storage import circulars
from storage.assessment import build_report
from storage.config import Config
from storage.periods import parse_period


@dataclass(frozen=True)
class Outcome:
    published: bool  # False: the period had been published already, nothing changed
    pushes: int
    cadres: int
    formats: tuple[str, ...]
    pdf_error: str | None = None


def publish(session: Session, config: Config, kind: str, period: str, *, actor: str, now: datetime) -> Outcome:
    """Publish ``period`` (ValueError for a period that is not a valid one or has not ended yet)."""
    p = parse_period(kind, period)
    if p.last >= now.astimezone(config.tz).date():
        raise ValueError(f"{p.key} 还没有结束，结束后才能发布 / the period has not ended yet")
    if circulars.is_published(session, kind, p.key):
        return Outcome(False, 0, 0, ())
    report = build_report(session, config, kind, p.key, now=now)
    files = {fmt: render(report, fmt) for fmt in ("json", "xlsx", "html")}
    pdf_error = None
    try:
        with tempfile.TemporaryDirectory(prefix="lianxin-publish-") as tmp:
            files["pdf"] = html_to_pdf(files["html"].decode("utf-8"), Path(tmp) / "circular.pdf").read_bytes()
    except PrintError as e:
        pdf_error = str(e)
    data: dict[str, Any] = json.loads(files["json"])
    done, pushes = circular_notices.publish_circular(session, kind=kind, period=report.period, report=data,
                                                     files=files, actor=actor, now=now, tz=config.tz)
    return Outcome(done, pushes, len(report.cadres), tuple(files), pdf_error)
