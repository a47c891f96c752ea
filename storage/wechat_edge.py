"""What /wechat keeps about the requests themselves (not the messages): one body per signed query, the faults of
requests WeChat signed, and the mix of plain and encrypted messages, for ``lianxin wechat check``.

One signed query, one body. In plain mode WeChat signs only the query (sha1 of token, timestamp, nonce): the
body is not covered, so whoever sees a signed query (a proxy's access log, a captured request) could send any
body under it while its timestamp is accepted (``[wechat] timestamp_tolerance_seconds``, 300 s). So the first
message handled under a query is kept as a hash of its fields until the query expires: the same query with the
same message (WeChat's own retries, up to 3, resend the request as it was) goes on to the stored reply, with
another message it is refused (403) and nothing is stored. The row is written in the dispatcher's transaction,
before the inbound row, so several workers agree through the unique index: a second request under the same
query waits for the first transaction, then compares. Safe mode needs it as well: a captured encrypted request's
query would otherwise carry a plain body (plain messages are accepted with a key set, WeChat's 兼容模式).

Rows of expired queries are deleted now and then by the transaction that inserts a row whose id is a multiple
of ``PRUNE_EVERY`` (one transaction at a time, a few hundred messages apart), ``PRUNE_MARGIN`` after expiry so a
worker whose clock is a little behind never meets a pruned query it would still accept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import insert_or_skip, rows_changed
from storage.models import InboundMessage, SignedQuery, WechatEdgeFault

PRUNE_EVERY = 256
PRUNE_MARGIN = timedelta(minutes=5)

DECRYPT_FAILED = "decrypt_failed"
NO_KEY = "no_key"
TRANSPORTS = ("plain", "aes", "compat")


class QueryReused(Exception):
    """A signed query already carried another message: answer 403, store nothing."""


@dataclass(frozen=True)
class QueryClaim:
    """The message ``body`` (body_hash) handled under the signed ``query`` (query_hash), kept until expiry."""

    query: str
    body: str
    expires_at: datetime


def query_hash(timestamp: str, nonce: str, signature: str) -> str:
    return hashlib.sha256(f"{timestamp}\n{nonce}\n{signature}".encode("utf-8", "surrogateescape")).hexdigest()


def body_hash(fields: Mapping[str, str]) -> str:
    """The message's fields, not its bytes: the same message hashes the same however it was wrapped."""
    canonical = json.dumps(sorted(fields.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()


_TABLE = SignedQuery.__table__
_INSERT = insert_or_skip(_TABLE, "query_hash")
_BODY = select(SignedQuery.body_hash).where(SignedQuery.query_hash == bindparam("q"))
_PRUNE = delete(SignedQuery).where(SignedQuery.expires_at < bindparam("before"))


def claim(session: Session, c: QueryClaim, *, now: datetime) -> None:
    """Keep ``c.body`` as the one message of ``c.query``; QueryReused when the query already carried another."""
    conn = session.connection()
    row_id = conn.execute(
        _INSERT, {"query_hash": c.query, "body_hash": c.body, "expires_at": c.expires_at}
    ).scalar()
    if row_id is None:
        if conn.execute(_BODY, {"q": c.query}).scalar() != c.body:
            raise QueryReused("this signed query already carried another message")
        return
    if row_id % PRUNE_EVERY == 0:
        conn.execute(_PRUNE, {"before": now - PRUNE_MARGIN})


def record_fault(session: Session, kind: str, now: datetime) -> None:
    """Count one fault of ``kind`` (DECRYPT_FAILED, NO_KEY); the caller commits."""
    done = rows_changed(
        session.execute(
            update(WechatEdgeFault)
            .where(WechatEdgeFault.kind == kind)
            .values(last_at=now, count=WechatEdgeFault.count + 1)
        )
    )
    if not done:
        try:
            with session.begin_nested():
                session.add(WechatEdgeFault(kind=kind, first_at=now, last_at=now, count=1))
        except IntegrityError:  # another worker inserted it first: count on its row
            session.execute(
                update(WechatEdgeFault)
                .where(WechatEdgeFault.kind == kind)
                .values(last_at=now, count=WechatEdgeFault.count + 1)
            )


def faults(session: Session) -> dict[str, WechatEdgeFault]:
    return {f.kind: f for f in session.scalars(select(WechatEdgeFault))}


def transports_since(session: Session, since: datetime) -> dict[str, int]:
    """transport -> messages received since ``since`` (every transport present, zero when none)."""
    rows = session.execute(
        select(InboundMessage.transport, func.count())
        .where(InboundMessage.received_at >= since, InboundMessage.transport.is_not(None))
        .group_by(InboundMessage.transport)
    )
    out = dict.fromkeys(TRANSPORTS, 0)
    for transport, n in rows:
        out[transport] = int(n)
    return out


def last_received(session: Session, transport: str) -> datetime | None:
    return session.scalar(
        select(func.max(InboundMessage.received_at)).where(InboundMessage.transport == transport)
    )
