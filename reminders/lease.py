"""Named leases in the database (the ``lease`` table): one holder at a time, until it expires.

Used for the one active scheduler, the one token refresher, the one SQLite dispatcher, and the 45009
delivery pause. Each call is its own short transaction, so a lease is visible to other processes at once.

Leases are measured in real time (``real_now``), not on the injected clock: they are held between processes —
a scheduler and a dispatcher, ``lianxin jobs run --now`` beside ``lianxin serve``, a test beside the subprocess
it started — and only the wall clock is the same in all of them. A renewal every few real seconds (the
scheduler's thread) would not keep a lease measured on a clock that stands still.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from storage.db import read_only
from storage.models import Lease
from storage.timestamps import utcnow


def real_now() -> datetime:
    """The time leases are measured in (see the module)."""
    return utcnow()  # real time: leases are held between processes, each of which may run its own clock


def acquire(engine: Engine, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool:
    """Take or renew lease ``name`` for ``holder``; False when someone else holds an unexpired one."""
    until = now + ttl
    with engine.begin() as conn:
        res = conn.execute(
            update(Lease)
            .where(Lease.name == name, (Lease.holder == holder) | (Lease.expires_at <= now))
            .values(holder=holder, expires_at=until)
        )
        if res.rowcount:
            return True
    try:
        with engine.begin() as conn:
            conn.execute(insert(Lease).values(name=name, holder=holder, expires_at=until))
        return True
    except IntegrityError:
        return False


def release(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def holder_of(engine: Engine, name: str, *, now: datetime) -> tuple[str, datetime] | None:
    """(holder, expires_at) of an unexpired lease, else None."""
    with read_only(engine).connect() as conn:  # asked on every health check: never queues behind a writer
        row = conn.execute(select(Lease.holder, Lease.expires_at).where(Lease.name == name)).first()
    if row is None or row.expires_at <= now:
        return None
    return row.holder, row.expires_at


def set_until(engine: Engine, name: str, holder: str, until: datetime) -> None:
    """Force a lease to ``until`` whoever holds it (the delivery pause after 45009)."""
    with engine.begin() as conn:
        res = conn.execute(update(Lease).where(Lease.name == name).values(holder=holder, expires_at=until))
        if not res.rowcount:
            try:
                with conn.begin_nested():
                    conn.execute(insert(Lease).values(name=name, holder=holder, expires_at=until))
            except IntegrityError:
                conn.execute(update(Lease).where(Lease.name == name).values(holder=holder, expires_at=until))
