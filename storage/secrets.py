"""The deployment's own secret key, shared by every process (issue 22 item 1).

``[console] secret_key`` signs the console's session cookies. Left empty, each process used to draw its own, so
behind ``serve --workers 2`` a request after login went to a worker that could not read the cookie (random
logouts). Now ``lianxin init`` makes one key and keeps it in the ``app_secret`` table; every worker reads the
same one. A configured ``secret_key`` still wins for the cookies (an operator who sets one keeps it).

Binding codes are kept as HMACs under a key derived from the same secret (storage/accounts.py ``code_hash``,
``bind_code_secret``): a configured ``secret_key`` lives outside the database, so a copy of the database gives
no code back; without one, the key kept here at least covers a leak of the codes' table alone. Changing
``secret_key`` voids the unused codes (they live 72 hours at most) as it logs everyone out.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import AppSecret

SECRET_KEY = "secret_key"


def stored_secret_key(session: Session) -> str | None:
    """The key kept in the database, or None (``lianxin init`` has not made one)."""
    return session.scalar(select(AppSecret.value).where(AppSecret.name == SECRET_KEY))


def secret_key(session: Session, *, configured: str) -> str | None:
    """The deployment's secret key: ``[console] secret_key`` when set, else the one kept in the database; None when
    there is neither (then only a single process may run, with a key of its own)."""
    return configured or stored_secret_key(session)


def ensure_secret_key(session: Session, *, now: datetime) -> tuple[str, bool]:
    """The key kept in the database, made now when there is none: (key, made). Two processes making it at once
    agree on one (the second insert loses to the primary key and reads the first)."""
    existing = stored_secret_key(session)
    if existing:
        return existing, False
    key = secrets.token_hex(32)
    try:
        with session.begin_nested():
            session.add(AppSecret(name=SECRET_KEY, value=key, created_at=now))
    except IntegrityError:
        stored = stored_secret_key(session)
        assert stored is not None
        return stored, False
    return key, True
