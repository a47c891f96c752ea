"""Failed-attempt limiting (binding codes, card numbers, console logins): one ``RateLimit`` row per key.

A domain service: it takes the caller's session and never commits, so a failure is counted in the same
transaction as the attempt it belongs to.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import RateLimit


def locked_until(session: Session, key: str, now: datetime) -> datetime | None:
    """The end of the key's lock-out, or None when it is not locked at ``now``."""
    row = session.get(RateLimit, key)
    if row is not None and row.locked_until is not None and row.locked_until > now:
        return row.locked_until
    return None


def _row(session: Session, key: str, now: datetime) -> RateLimit:
    row = session.get(RateLimit, key)
    if row is None:
        try:
            with session.begin_nested():
                row = RateLimit(key=key, failures=0, window_start=now)
                session.add(row)
        except IntegrityError:  # a concurrent first failure for the same key
            row = session.get(RateLimit, key, populate_existing=True)
            assert row is not None
    return row


def record_failure(
    session: Session,
    key: str,
    now: datetime,
    *,
    limit: int,
    lock_for: timedelta,
    window: timedelta,
    grow: bool = False,
    fresh_after_lock: bool = False,
) -> tuple[int, datetime | None]:
    """Count a failed attempt; at ``limit`` failures within ``window`` the key is locked for ``lock_for``.

    ``grow``: the lock doubles with every further failure, and failures keep counting after a lock runs out
    until a whole window passes (card numbers: guessing gets slower and slower).
    ``fresh_after_lock``: a lock that has run out starts a new count (console logins).
    Returns (failures, locked_until).
    """
    row = _row(session, key, now)
    locked_now = row.locked_until is not None and row.locked_until > now
    lock_served = row.locked_until is not None and row.locked_until <= now
    window_over = row.window_start < now - window
    if (window_over and not locked_now) or (fresh_after_lock and (lock_served or window_over)):
        row.failures = 0
        row.window_start = now
        row.locked_until = None
    row.failures += 1
    if row.failures >= limit:
        extra = row.failures - limit
        row.locked_until = now + (lock_for * (2 ** min(extra, 6)) if grow else lock_for)
    session.flush()
    return row.failures, row.locked_until


def count_failure(session: Session, key: str, now: datetime, *, window: timedelta, add: bool = True) -> int:
    """Failures of ``key`` within ``window`` (counting this one when ``add``), never locking: for limits that
    slow rather than lock (console logins per address)."""
    if not add:
        row = session.get(RateLimit, key)
        return 0 if row is None or row.window_start < now - window else row.failures
    failures, _ = record_failure(session, key, now, limit=2**31 - 1, lock_for=timedelta(0), window=window)
    return failures


def clear_failures(session: Session, key: str) -> None:
    """A success forgets the key's failures."""
    row = session.get(RateLimit, key)
    if row is not None:
        session.delete(row)
        session.flush()


def failures_in_window(session: Session, key: str, now: datetime, window: timedelta) -> int:
    """The key's failures still counting at ``now`` (0 once its window has passed and no lock holds)."""
    row = session.get(RateLimit, key)
    if row is None:
        return 0
    locked = row.locked_until is not None and row.locked_until > now
    return row.failures if locked or row.window_start >= now - window else 0


def hold_until(session: Session, key: str, now: datetime, until: datetime) -> datetime:
    """Lock ``key`` until ``until`` at least (an account that guessed wrong during a pause waits it out)."""
    row = _row(session, key, now)
    row.failures += 1
    if row.locked_until is None or row.locked_until < until:
        row.locked_until = until
    session.flush()
    return row.locked_until
