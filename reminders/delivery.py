"""Delivery of the outbox to WeChat, and download of attached media.

One dispatch run:
1. claims due rows: ``pending`` rows whose next attempt has come, and ``sending`` rows whose claim expired
   (their dispatcher died). PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` so several dispatchers share the
   queue; SQLite: a database lease so one dispatcher works at a time. Claimed rows get ``sending`` with a
   ``claimed_until`` lease, in a short committed transaction — a dispatcher killed mid-batch loses nothing,
   its rows are claimed again once the lease runs out.
2. chooses the channel per recipient: a customer-service message while the 48-hour window is open and its
   quota (``[wechat] custom_quota_per_window``) is not spent, else a template message. When one person has
   more pending messages than quota left, they are merged into one digest (the others become ``merged``).
3. sends each message and records the answer in a one-row UPDATE (conditional on the claim). A message can
   thus go out twice only if the process dies between WeChat's answer and that UPDATE.

Errors: temporary (5xx, timeouts, -1) → back-off ``retry_base_seconds * 2^(attempts-1)`` up to 1 h, and
``failed`` after ``max_attempts``; 45015/45047 → the same message as a template at once; 43004 → the person
is marked unreachable and the office told; 45009 → delivery pauses (lease ``delivery-paused``) until local
midnight or ``quota_pause_hours``; anything else → ``failed`` at once (``lianxin outbox --failed``).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from reminders import lease
from reminders.render import render
from reminders.wechat_api import (
    DAILY_QUOTA,
    FALLBACK_TO_TEMPLATE,
    UNREACHABLE,
    TransientError,
    WechatClient,
    WechatError,
)
from storage.db import is_sqlite
from storage.models import Attachment, OutboxMessage, WechatIdentity
from storage.types import utcnow

log = logging.getLogger("lianxin.delivery")

WINDOW = timedelta(hours=48)
CLAIM_SECONDS = 120
PAUSE_LEASE = "delivery-paused"
SQLITE_LEASE = "dispatcher-sqlite"
MEDIA_WINDOW = timedelta(days=3)
MEDIA_MAX_ATTEMPTS = 5


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    sent_custom: int = 0
    sent_template: int = 0
    merged: int = 0
    retried: int = 0
    failed: int = 0
    paused: bool = False
    busy: bool = False  # SQLite: another dispatcher holds the lease
    not_configured: bool = False  # [wechat] app_id / app_secret empty: nothing sent, nothing lost
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchResult) -> None:
        for name in ("claimed", "sent", "sent_custom", "sent_template", "merged", "retried", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.paused = self.paused or other.paused
        self.errors.extend(other.errors)


def _worker_id() -> str:
    return f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def paused_until(lx: Any) -> datetime | None:
    held = lease.holder_of(lx.engine, PAUSE_LEASE, now=utcnow())
    return held[1] if held else None


def configured(lx: Any) -> bool:
    return bool(lx.config["wechat"]["app_id"] and lx.config["wechat"]["app_secret"])


def backoff(attempts: int, base_seconds: int) -> timedelta:
    return timedelta(seconds=min(3600, base_seconds * 2 ** max(0, attempts - 1)))


# --------------------------------------------------------------------------------------------------
# Claiming
# --------------------------------------------------------------------------------------------------


def _due(now: datetime, real_now: datetime) -> Any:
    return or_(
        # A message never tried is always due (--now in the past must not hold back what was just queued);
        # a retried one waits for its back-off, measured on the clock we were given.
        and_(OutboxMessage.status == "pending",
             or_(OutboxMessage.attempts == 0, OutboxMessage.next_attempt_at <= now)),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until <= real_now),
    )


def claim(lx: Any, *, claim_id: str, now: datetime, limit: int) -> list[OutboxMessage]:
    """Mark up to ``limit`` due rows as ours (``sending`` until a lease runs out) and return them."""
    real_now = utcnow()
    until = real_now + timedelta(seconds=CLAIM_SECONDS)
    with lx.session() as s:
        lease.write_lock(s)
        q = select(OutboxMessage.id).where(_due(now, real_now)).order_by(OutboxMessage.id).limit(limit)
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        ids = list(s.scalars(q))
        if not ids:
            return []
        s.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids), _due(now, real_now))
            .values(status="sending", claimed_by=claim_id, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
    with lx.session() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.claimed_by == claim_id,
                                                          OutboxMessage.status == "sending")
                              .order_by(OutboxMessage.id)))


# --------------------------------------------------------------------------------------------------
# Recording (each a one-row update, conditional on our claim)
# --------------------------------------------------------------------------------------------------


def _finish(s: Session, msg: OutboxMessage, claim_id: str, **values: Any) -> bool:
    res = s.execute(
        update(OutboxMessage).where(OutboxMessage.id == msg.id, OutboxMessage.claimed_by == claim_id,
                                    OutboxMessage.status == "sending")
        .values(claimed_until=None, **values).execution_options(synchronize_session=False)
    )
    return bool(res.rowcount)


def _record_sent(lx: Any, msg: OutboxMessage, claim_id: str, channel: str, now: datetime) -> None:
    with lx.session() as s:
        if _finish(s, msg, claim_id, status="sent", channel=channel, sent_at=now,
                   attempts=OutboxMessage.attempts + 1, last_error=None):
            from storage.tasks import mark_delivered

            # A card's push (or a digest carrying some) marks those assignments delivered, same transaction.
            for key in [msg.idempotency_key, *(msg.payload or {}).get("merged_keys", [])]:
                mark_delivered(s, key, now=now)
            if channel == "custom":  # shown by the console; the quota itself is counted from sent rows
                s.execute(update(WechatIdentity).where(WechatIdentity.openid == msg.openid)
                          .values(window_sent=WechatIdentity.window_sent + 1)
                          .execution_options(synchronize_session=False))


def _record_retry(lx: Any, msg: OutboxMessage, claim_id: str, error: str, now: datetime) -> str:
    cfg = lx.config["wechat"]
    attempts = msg.attempts + 1
    with lx.session() as s:
        if attempts >= cfg["max_attempts"]:
            _finish(s, msg, claim_id, status="failed", attempts=attempts, last_error=error)
            return "failed"
        _finish(s, msg, claim_id, status="pending", attempts=attempts, last_error=error,
                next_attempt_at=now + backoff(attempts, cfg["retry_base_seconds"]))
        return "retried"


def _record_failed(lx: Any, msg: OutboxMessage, claim_id: str, error: str) -> None:
    with lx.session() as s:
        _finish(s, msg, claim_id, status="failed", attempts=msg.attempts + 1, last_error=error)


def _release(lx: Any, msgs: list[OutboxMessage], claim_id: str, note: str | None = None) -> None:
    """Give unsent rows back untouched (delivery paused): they stay due, nothing counts as an attempt."""
    if not msgs:
        return
    with lx.session() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([m.id for m in msgs]), OutboxMessage.claimed_by == claim_id,
                   OutboxMessage.status == "sending")
            .values(status="pending", claimed_until=None, **({"last_error": note} if note else {}))
            .execution_options(synchronize_session=False)
        )


# --------------------------------------------------------------------------------------------------
# Channel choice
# --------------------------------------------------------------------------------------------------


@dataclass
class Recipient:
    openid: str
    identity_id: int | None
    window_open: bool
    quota_left: int
    unreachable: bool
    reason: str | None


def _recipients(lx: Any, openids: list[str], now: datetime) -> dict[str, Recipient]:
    quota = lx.config["wechat"]["custom_quota_per_window"]
    out: dict[str, Recipient] = {}
    with lx.sessions() as s:
        idents = {i.openid: i for i in s.scalars(select(WechatIdentity).where(WechatIdentity.openid.in_(openids)))}
        # Customer-service messages already sent since the user's last message (that opened this window).
        used = dict(s.execute(
            select(OutboxMessage.openid, func.count())
            .join(WechatIdentity, WechatIdentity.openid == OutboxMessage.openid)
            .where(OutboxMessage.openid.in_(openids), OutboxMessage.status == "sent",
                   OutboxMessage.channel == "custom", WechatIdentity.last_inbound_at.is_not(None),
                   OutboxMessage.sent_at >= WechatIdentity.last_inbound_at)
            .group_by(OutboxMessage.openid)
        ).all())
    for openid in openids:
        ident = idents.get(openid)
        if ident is None:
            out[openid] = Recipient(openid, None, False, 0, False, None)
            continue
        open_ = ident.last_inbound_at is not None and now - ident.last_inbound_at < WINDOW
        left = max(0, quota - int(used.get(openid, 0))) if open_ else 0
        gone = ident.unreachable or not ident.subscribed
        out[openid] = Recipient(openid, ident.id, open_, left, gone,
                                ident.unreachable_reason or ("已取消关注" if not ident.subscribed else None))
    return out


def _template_for(lx: Any, msg: OutboxMessage) -> tuple[str, dict[str, Any]] | None:
    template_id = lx.config["wechat.templates"].get(msg.kind, "")
    if not template_id:
        return None
    payload = msg.payload or {}
    fields = payload.get("template") or {}
    text = payload.get("text", "")
    first_line, _, rest = text.partition("\n")
    values = {
        "first": fields.get("first", first_line),
        "keyword1": fields.get("keyword1", first_line[:20]),
        "keyword2": fields.get("keyword2", ""),
        "remark": fields.get("remark", rest.strip()[:200]),
    }
    values.update({k: v for k, v in fields.items() if k not in values})
    return template_id, {k: {"value": str(v)} for k, v in values.items()}


def _merge(lx: Any, msgs: list[OutboxMessage], claim_id: str) -> OutboxMessage:
    """Turn several pending messages for one person into one digest carried by the first row."""
    carrier, rest = msgs[0], msgs[1:]
    items = [(m.payload or {}).get("text", "") for m in msgs]
    digest = render("digest", items=items)
    payload = dict(carrier.payload or {})
    payload.update({"text": digest, "original_text": items[0], "merged": [m.id for m in rest],
                    "merged_keys": [m.idempotency_key for m in rest], "template": None})
    with lx.session() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == carrier.id, OutboxMessage.claimed_by == claim_id)
                  .values(payload=payload).execution_options(synchronize_session=False))
        s.execute(update(OutboxMessage)
                  .where(OutboxMessage.id.in_([m.id for m in rest]), OutboxMessage.claimed_by == claim_id)
                  .values(status="merged", merged_into=carrier.id, claimed_until=None)
                  .execution_options(synchronize_session=False))
    carrier.payload = payload
    return carrier


# --------------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------------


class _Pause(Exception):
    pass


def dispatch_outbox(lx: Any, now: datetime | None = None, *, client: WechatClient | None = None,
                    limit: int = 500, max_batches: int = 1000, worker: str | None = None) -> DispatchResult:
    """Deliver everything due at ``now`` (default: the clock). Safe to run in several processes at once."""
    now = now or lx.now()
    result = DispatchResult()
    if not configured(lx):
        # No AppID/AppSecret (a demo or a fresh install): keep everything queued rather than fail it.
        result.not_configured = True
        return result
    if paused_until(lx) is not None:
        result.paused = True
        return result
    worker = worker or _worker_id()
    sqlite = is_sqlite(lx.engine)
    if sqlite and not lease.acquire(lx.engine, SQLITE_LEASE, worker, ttl=timedelta(seconds=CLAIM_SECONDS),
                                    now=utcnow()):
        result.busy = True
        return result
    own_client = client is None
    client = client or WechatClient(lx)
    try:
        for _ in range(max_batches):
            claim_id = f"{worker}:{uuid.uuid4().hex[:8]}"
            batch = claim(lx, claim_id=claim_id, now=now, limit=limit)
            if not batch:
                break
            result.claimed += len(batch)
            try:
                _deliver_batch(lx, client, batch, claim_id, now, result)
            except _Pause:
                result.paused = True
                break
            if sqlite:
                lease.acquire(lx.engine, SQLITE_LEASE, worker, ttl=timedelta(seconds=CLAIM_SECONDS), now=utcnow())
    finally:
        if sqlite:
            lease.release(lx.engine, SQLITE_LEASE, worker)
        if own_client:
            client.close()
    return result


def _deliver_batch(lx: Any, client: WechatClient, batch: list[OutboxMessage], claim_id: str, now: datetime,
                   result: DispatchResult) -> None:
    by_person: dict[str, list[OutboxMessage]] = defaultdict(list)
    for m in batch:
        by_person[m.openid].append(m)
    people = _recipients(lx, list(by_person), now)
    plan: list[tuple[OutboxMessage, str]] = []  # (message, "custom" | "template")
    for openid, msgs in by_person.items():
        r = people[openid]
        if r.unreachable:
            for m in msgs:
                _record_failed(lx, m, claim_id, f"unreachable: {r.reason or '无法送达'}")
                result.failed += 1
            continue
        if r.window_open and r.quota_left > 0:
            if len(msgs) > r.quota_left:
                # Quota short: the first quota_left-1 go one by one, the rest as one digest.
                single, rest = msgs[: r.quota_left - 1], msgs[r.quota_left - 1:]
                if len(rest) > 1:
                    carrier = _merge(lx, rest, claim_id)
                    result.merged += len(rest) - 1
                    rest = [carrier]
                msgs = single + rest
            plan.extend((m, "custom") for m in msgs)
        else:
            plan.extend((m, "template") for m in msgs)
    closed: set[str] = set()  # people WeChat refused a customer-service message this batch (45015/45047)
    for i, (m, channel) in enumerate(plan):
        if channel == "custom" and m.openid in closed:
            channel = "template"
        try:
            _send_one(lx, client, m, channel, claim_id, now, result, closed)
        except _Pause:
            _release(lx, [p for p, _ in plan[i:]], claim_id, note="45009: delivery paused")
            raise


def _send_one(lx: Any, client: WechatClient, m: OutboxMessage, channel: str, claim_id: str, now: datetime,
              result: DispatchResult, closed: set[str] | None = None) -> None:
    text = (m.payload or {}).get("text", "")
    try:
        if channel == "custom":
            try:
                client.send_text(m.openid, text)
            except WechatError as e:
                if e.errcode not in FALLBACK_TO_TEMPLATE or isinstance(e, TransientError):
                    raise
                log.info("outbox %s: %s on customer-service message; sending as template", m.id, e.errcode)
                channel = "template"
                if closed is not None:
                    closed.add(m.openid)
        if channel == "template":
            tpl = _template_for(lx, m)
            if tpl is None:
                raise WechatError(0, f"no template id configured for kind {m.kind!r} ([wechat.templates])")
            client.send_template(m.openid, tpl[0], tpl[1], url=(m.payload or {}).get("url"))
    except TransientError as e:
        outcome = _record_retry(lx, m, claim_id, str(e), now)
        result.retried += outcome == "retried"
        result.failed += outcome == "failed"
        return
    except WechatError as e:
        if e.errcode in DAILY_QUOTA:
            _pause(lx, now)
            raise _Pause() from None
        if e.errcode in UNREACHABLE:
            _mark_unreachable(lx, m, claim_id, e, now)
        else:
            _record_failed(lx, m, claim_id, str(e))
        result.failed += 1
        result.errors.append(f"{m.id}: {e}")
        return
    _record_sent(lx, m, claim_id, channel, now)
    result.sent += 1
    if channel == "custom":
        result.sent_custom += 1
    else:
        result.sent_template += 1


def _pause(lx: Any, now: datetime) -> None:
    hours = lx.config["wechat"]["quota_pause_hours"]
    real = utcnow()
    if hours > 0:
        until = real + timedelta(hours=hours)
    else:
        tz = lx.config.tz
        local = real.astimezone(tz)
        until = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    log.warning("45009: WeChat API daily quota spent; delivery paused until %s", until.isoformat())
    lease.set_until(lx.engine, PAUSE_LEASE, "45009", until)


def _mark_unreachable(lx: Any, m: OutboxMessage, claim_id: str, e: WechatError, now: datetime) -> None:
    from storage.models import Cadre, Household
    from storage.outbox import enqueue
    from storage.tasks import office_recipients

    reason = f"{e.errcode} 用户已取消关注" if e.errcode == 43004 else str(e)
    with lx.session() as s:
        _finish(s, m, claim_id, status="failed", attempts=m.attempts + 1, last_error=str(e))
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == m.openid))
        who = m.openid
        if ident is not None:
            ident.unreachable = True
            ident.unreachable_reason = reason[:200]
            if ident.cadre_id:
                c = s.get(Cadre, ident.cadre_id)
                who = f"干部 {c.name}（{c.phone}）" if c else who
            elif ident.household_id:
                h = s.get(Household, ident.household_id)
                who = f"农户 {h.head_name}" if h else who
        for openid in office_recipients(s, lx.config["scheduler"]["office_openids"]):
            if openid == m.openid:
                continue
            enqueue(s, openid=openid, kind="notice",
                    text=render("unreachable_notice", who=who, reason=reason,
                                text=(m.payload or {}).get("text", "")),
                    key=f"unreachable:{m.openid}:{openid}")


# --------------------------------------------------------------------------------------------------
# Listing for `lianxin outbox` and the console
# --------------------------------------------------------------------------------------------------


def list_outbox(session: Session, *, failed_only: bool = False, limit: int = 100) -> list[OutboxMessage]:
    q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if failed_only:
        q = q.where(OutboxMessage.status == "failed")
    return list(session.scalars(q))


def outbox_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())


def retry(session: Session, message_id: int, *, now: datetime, actor: str = "cli") -> OutboxMessage:
    """Put a failed message back in the queue (after the cause was fixed)."""
    from storage.audit import record

    m = session.get(OutboxMessage, message_id)
    if m is None:
        raise ValueError(f"没有编号为 {message_id} 的消息")
    if m.status != "failed":
        raise ValueError(f"消息 {message_id} 的状态是 {m.status}，只有失败的消息可以重发")
    m.status, m.attempts, m.next_attempt_at, m.claimed_by, m.claimed_until = "pending", 0, now, None, None
    record(session, actor=actor, action="outbox.retry", target=f"outbox:{message_id}")
    return m


# --------------------------------------------------------------------------------------------------
# Media
# --------------------------------------------------------------------------------------------------

_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "audio/amr": ".amr",
        "audio/mpeg": ".mp3", "audio/x-speex": ".speex", "voice/speex": ".speex", "video/mp4": ".mp4"}


def download_media(lx: Any, now: datetime | None = None, *, client: WechatClient | None = None,
                   limit: int = 50) -> int:
    """Fetch photos and voice of Attachment rows (WeChat keeps them 3 days) into ``[general] media_dir``."""
    now = now or lx.now()
    if not configured(lx):
        return 0
    own_client = client is None
    client = client or WechatClient(lx)
    try:
        return _download(lx, client, now, limit)
    finally:
        if own_client:
            client.close()


def _download(lx: Any, client: WechatClient, now: datetime, limit: int) -> int:
    root = Path(lx.config["general"]["media_dir"])
    with lx.sessions() as s:
        todo = list(s.execute(
            select(Attachment.id, Attachment.media_id, Attachment.created_at, Attachment.download_attempts)
            .where(Attachment.media_id.is_not(None), Attachment.downloaded_at.is_(None),
                   Attachment.download_attempts < MEDIA_MAX_ATTEMPTS, Attachment.created_at >= now - MEDIA_WINDOW)
            .order_by(Attachment.id).limit(limit)
        ).all())
    done = 0
    for att_id, media_id, created_at, attempts in todo:
        try:
            media = client.get_media(media_id)
        except WechatError as e:
            with lx.session() as s:
                s.execute(update(Attachment).where(Attachment.id == att_id)
                          .values(download_attempts=attempts + 1, download_error=str(e)[:500]))
            continue
        local = created_at.astimezone(lx.config.tz)
        folder = root / f"{local:%Y}" / f"{local:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        ext = _EXT.get(media.content_type.split(";")[0].strip().lower()) or (
            Path(media.filename).suffix if media.filename else ".bin")
        path = folder / f"attachment-{att_id}{ext}"
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(media.content)
        os.replace(tmp, path)
        with lx.session() as s:
            s.execute(update(Attachment).where(Attachment.id == att_id).values(
                stored_path=str(path), content_type=media.content_type, size=len(media.content),
                downloaded_at=now, download_attempts=attempts + 1, download_error=None))
        done += 1
    return done
