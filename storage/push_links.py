"""Links from a template message to the whole message (PRODUCT.md "Pushes": no login; unguessable; expiring).

WeChat shows a template's keyword fields only, each cut short (docs/wechat-rules.md §4c), so every template message
carries ``url`` = ``public_url`` + ``/m/<token>``. The token is 32 random bytes (``secrets.token_urlsafe``);
only its SHA-256 is stored, so the table alone opens nothing. A link shows that one message — for a request,
its thread and how to answer — and nothing else, until ``[wechat] push_link_days`` have passed.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from storage.models import PushLink, VillagerRequest


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_link(
    session: Session,
    *,
    outbox_id: int | None,
    openid: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    days: int,
) -> str:
    """A new link to the message in ``payload``; returns the token (shown once, in the URL, never stored)."""
    token = secrets.token_urlsafe(32)
    request_id = None
    number = (payload.get("template") or {}).get("number")
    if kind in ("request", "reply") and number and str(number).isdigit():
        request_id = session.scalar(select(VillagerRequest.id).where(VillagerRequest.number == int(number)))
    session.add(
        PushLink(
            token_hash=_hash(token),
            outbox_id=outbox_id,
            openid=openid,
            kind=kind,
            text=payload.get("text", ""),
            request_id=request_id,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    return token


def create_links(session: Session, items: list[dict[str, Any]], *, now: datetime, days: int) -> list[str]:
    """Links for a batch of pushes (each item: ``outbox_id``, ``openid``, ``kind``, ``payload``), in item order.

    The same rows as ``create_link`` for each item, but the requests' ids come from one SELECT and the rows go
    in one Core INSERT executed for the whole list (one statement prepared once; no ORM unit of work): the
    outbox delivers template messages in claimed batches, and one ORM object per message cost ~30% of
    one dispatcher's template throughput (bench/RESULTS.md "Push delivery").
    """
    if not items:
        return []
    numbers = {}
    for item in items:
        number = ((item["payload"] or {}).get("template") or {}).get("number")
        if item["kind"] in ("request", "reply") and number and str(number).isdigit():
            numbers[id(item)] = int(number)
    by_number: dict[int, int] = {}
    if numbers:
        by_number = dict(
            session.execute(
                select(VillagerRequest.number, VillagerRequest.id).where(
                    VillagerRequest.number.in_(set(numbers.values()))
                )
            ).all()
        )
    tokens, rows = [], []
    for item in items:
        token = secrets.token_urlsafe(32)
        tokens.append(token)
        number = numbers.get(id(item))
        rows.append(
            {
                "token_hash": _hash(token),
                "outbox_id": item["outbox_id"],
                "openid": item["openid"],
                "kind": item["kind"],
                "text": (item["payload"] or {}).get("text", ""),
                "request_id": by_number.get(number) if number is not None else None,
                "created_at": now,
                "expires_at": now + timedelta(days=days),
            }
        )
    session.connection().execute(insert(PushLink.__table__), rows)
    return tokens


def find_link(session: Session, token: str, now: datetime) -> PushLink | None:
    """The link this token opens, or None (unknown, malformed or expired: the same answer for all three)."""
    if not token or len(token) > 100:
        return None
    link = session.scalar(select(PushLink).where(PushLink.token_hash == _hash(token)))
    if link is None or link.expires_at <= now:
        return None
    return link
