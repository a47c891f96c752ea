"""The link lists as submitted (issue 24 item 7; the seed asks for the 联户名单 to be 存档): every applied import,
from the command line or the console, keeps the file's bytes with who imported it and when, its size, SHA-256,
rows and counts. Kept in the database (table ``import_archive``), not in the media folder: a database backup
holds them (docs/deploy.md), and storage/uploads.py's sweep of abandoned uploads never sees them — a confirmed
upload is deleted from the media folder once its bytes are here.

``lianxin purge`` empties the content of the archived lists that may hold the purged household (every list of
its township, and the county's), keeping the row (who, when, digest) and saying why (``content_removed_*``).

Functions take ``session`` and never commit; the console lists and serves them to the office (audited download).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from storage.models import ImportArchive


def keep(
    session: Session,
    *,
    data: bytes,
    filename: str,
    township_id: int | None,
    rows: int,
    counts: dict[str, Any],
    actor: str,
    now: datetime,
) -> ImportArchive:
    """Archive the file of an import just applied (in the same unit of work)."""
    row = ImportArchive(
        township_id=township_id,
        filename=filename[:255],
        content=data,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        rows=rows,
        counts=dict(counts),
        imported_by=actor,
        imported_at=now,
    )
    session.add(row)
    session.flush()
    return row


def listed(session: Session, *, township_id: int | None = None) -> list[ImportArchive]:
    """Newest first: every list (``township_id`` None), or one township's (and not the county's)."""
    stmt = select(ImportArchive).order_by(ImportArchive.imported_at.desc(), ImportArchive.id.desc())
    if township_id is not None:
        stmt = stmt.where(ImportArchive.township_id == township_id)
    return list(session.scalars(stmt))


def forget_content(session: Session, *, township_id: int | None, why: str, now: datetime) -> int:
    """Empty the content of the township's archived lists and the county's (``purge``); how many."""
    cond: ColumnElement[bool] = ImportArchive.township_id.is_(None)
    if township_id is not None:
        cond = or_(cond, ImportArchive.township_id == township_id)
    result = session.execute(
        update(ImportArchive)
        .where(cond, ImportArchive.content.is_not(None))
        .values(content=None, content_removed_at=now, content_removed_why=why[:40])
    )
    return int(getattr(result, "rowcount", 0) or 0)
