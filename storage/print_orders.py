"""Print orders of the console: made by the request that asks for a print, advanced by a background run that
makes the cards' QR codes, read by the page that shows the progress and then the print.

A run is claimed with one conditional UPDATE (pending, or running with a heartbeat older than ``STALE``), so of
several workers that see a stale order only one takes it over; the run beats (``heartbeat_at``) with each code it
makes. Functions take ``session=`` and never commit.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.db import rows_changed
from storage.models import PrintOrder

STALE = timedelta(
    seconds=60
)  # a run silent this long is taken to be dead (one API call takes seconds at most)


def create(
    session: Session,
    *,
    kind: str,
    user_id: int,
    township_id: int | None,
    village: str | None,
    format: str,
    now: datetime,
) -> PrintOrder:
    order = PrintOrder(
        token=secrets.token_urlsafe(24),
        kind=kind,
        user_id=user_id,
        township_id=township_id,
        village=village,
        format=format,
        status="pending",
        total=0,
        made=0,
        created_at=now,
    )
    session.add(order)
    session.flush()
    return order


def by_token(session: Session, token: str) -> PrintOrder | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(select(PrintOrder).where(PrintOrder.token == token))


def claim(session: Session, order_id: int, *, now: datetime) -> bool:
    """Start (or take over) the background run of this order; False when another live run has it or it is done."""
    done = rows_changed(
        session.execute(
            update(PrintOrder)
            .where(
                PrintOrder.id == order_id,
                or_(
                    PrintOrder.status == "pending",
                    (PrintOrder.status == "running")
                    & or_(PrintOrder.heartbeat_at.is_(None), PrintOrder.heartbeat_at < now - STALE),
                ),
            )
            .values(status="running", heartbeat_at=now)
        )
    )
    return bool(done)


def stale(order: PrintOrder, now: datetime) -> bool:
    """Waiting for a run that is not coming: pending and never claimed, or running without a heartbeat."""
    if order.status == "done":
        return False
    beat = order.heartbeat_at or order.created_at
    return beat < now - STALE


def progress(session: Session, order_id: int, *, made: int, total: int, now: datetime) -> None:
    session.execute(
        update(PrintOrder).where(PrintOrder.id == order_id).values(made=made, total=total, heartbeat_at=now)
    )


def finish(session: Session, order_id: int, *, notice: str | None, now: datetime) -> None:
    session.execute(
        update(PrintOrder)
        .where(PrintOrder.id == order_id)
        .values(status="done", notice=notice, heartbeat_at=now)
    )
