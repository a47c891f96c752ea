"""Links from a template message to the whole message (PRODUCT.md "Pushes": no login; unguessable; expiring).

WeChat shows a template's keyword fields only, each cut short (wechat-rules.md §4c), so every template message
carries ``url`` = ``public_url`` + ``/m/<token>``. The token is 32 random bytes (``secrets.token_urlsafe``);
only its SHA-256 is stored, so the table alone opens nothing. A link shows that one message — for a request,
its thread and how to answer — and nothing else, until ``[wechat] push_link_days`` have passed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import PushLink, VillagerRequest


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_link(session: Session, *, outbox_id: int | None, openid: str, kind: str, payload: dict[str, Any],
                now: datetime, days: int) -> str:
    """A new link to the message in ``payload``; returns the token (shown once, in the URL, never stored)."""
    token = secrets.token_urlsafe(32)
    request_id = None
    number = (payload.get("template") or {}).get("number")
    if kind in ("request", "reply") and number and str(number).isdigit():
        request_id = session.scalar(select(VillagerRequest.id).where(VillagerRequest.number == int(number)))
    session.add(PushLink(token_hash=_hash(token), outbox_id=outbox_id, openid=openid, kind=kind,
                         text=payload.get("text", ""), request_id=request_id, created_at=now,
                         expires_at=now + timedelta(days=days)))
    return token


def find_link(session: Session, token: str, now: datetime) -> PushLink | None:
    """The link this token opens, or None (unknown, malformed or expired: the same answer for all three)."""
    if not token or len(token) > 100:
        return None
    link = session.scalar(select(PushLink).where(PushLink.token_hash == _hash(token)))
    if link is None or link.expires_at <= now:
        return None
    return link
