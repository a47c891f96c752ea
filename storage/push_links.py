"""Links from a template message to the whole message (PRODUCT.md "Pushes": no login; unguessable; expiring).

WeChat shows a template's keyword fields only, each cut short (docs/wechat-rules.md §4c), so every template message
carries ``url`` = ``public_url`` + ``/m/<token>``. The token is 32 random bytes (``secrets.token_urlsafe``);
only its SHA-256 is stored, so the table alone opens nothing. A link shows that one message — for a request,
its thread and how to answer — and nothing else, until ``[wechat] push_link_days`` (7 by default) have passed.

A link is its recipient's (issue 21 item 3): where WeChat's web OAuth is configured the page opens only for the
``openid`` it was sent to (console/push_links.py); it dies at once when that account is unlinked from its
household or released by its cadre (``revoke_links_for``, called where that happens: storage/cards.unlink,
handlers/binding.py) or its household is closed; the links a cadre was sent about a household's requests die when
the household moves to another cadre (``revoke_links_about``, storage/handover.py); and each opening is counted
(``record_view``) for the office.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from storage.db import rows_changed
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
            )
            .tuples()
            .all()
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
    """The link this token opens, or None (unknown, malformed, expired or revoked: the same answer for all)."""
    if not token or len(token) > 100:
        return None
    link = session.scalar(select(PushLink).where(PushLink.token_hash == _hash(token)))
    if link is None or link.expires_at <= now or link.revoked_at is not None:
        return None
    return link


def revoke_links_for(openid: str, *, session: Session, now: datetime) -> int:
    """Every live link sent to this account stops working now (its account was unlinked or released, or its
    household closed); how many. Links sent to the account later are its new owner's and work."""
    result = session.execute(
        update(PushLink)
        .where(PushLink.openid == openid, PushLink.revoked_at.is_(None), PushLink.expires_at > now)
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return rows_changed(result) or 0


def revoke_links_about(session: Session, *, openids: list[str], request_ids: list[int], now: datetime) -> int:
    """The live links sent to ``openids`` about requests ``request_ids`` stop working now (the household moved to
    another cadre: its old cadre no longer reads its thread); how many. Their other links still work."""
    if not openids or not request_ids:
        return 0
    result = session.execute(
        update(PushLink)
        .where(
            PushLink.openid.in_(openids),
            PushLink.request_id.in_(request_ids),
            PushLink.revoked_at.is_(None),
            PushLink.expires_at > now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return rows_changed(result) or 0


def record_view(session: Session, link: PushLink, *, now: datetime, refused: bool = False) -> None:
    """One opening of the link: by its recipient (counted, first and last kept), or ``refused`` (someone else's
    WeChat account opened a forwarded link and saw nothing)."""
    if refused:
        link.refused_views = (link.refused_views or 0) + 1
        return
    link.views = (link.views or 0) + 1
    link.first_viewed_at = link.first_viewed_at or now
    link.last_viewed_at = now


def links_about_request(session: Session, request_id: int) -> list[PushLink]:
    """The links pushed about one villager's request (to its cadre, to the villager), oldest first."""
    return list(
        session.scalars(select(PushLink).where(PushLink.request_id == request_id).order_by(PushLink.id))
    )


def recent_links(session: Session, *, limit: int = 50) -> list[PushLink]:
    return list(session.scalars(select(PushLink).order_by(PushLink.id.desc()).limit(limit)))


def link_state(link: PushLink, now: datetime) -> str:
    """'revoked' | 'expired' | 'live'."""
    if link.revoked_at is not None:
        return "revoked"
    return "expired" if link.expires_at <= now else "live"
