"""Delivery of the outbox to WeChat (claims in outbox_claims.py, the channel in channels.py, media in media.py).

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
   thus go out twice only if the process dies between WeChat's answer and that UPDATE — and then not a
   template message sent again within 10 minutes: it carries the row's id as WeChat's ``client_msg_id``
   (防重入 id), so WeChat shows it once. A customer-service message has no such id and may show twice.

Errors: temporary (5xx, timeouts, -1) → back-off ``retry_base_seconds * 2^(attempts-1)`` up to 1 h, and
``failed`` after ``max_attempts``; 45015/45047 → the same message as a template at once; 43004 → the person
is marked unreachable, the office and the sender told; 48002/43101 (they switched off the account's messages) →
the push ``refused``, the person marked, the office told once, their pushes kept untried until they write again
(a ``TEMPLATESENDJOBFINISH`` event ``failed:user block`` does the same afterwards, handlers/events.py); a
villager's request that cannot reach its cadre goes to the office (handlers/request_routing.py); 45009 → delivery pauses (lease ``delivery-paused``)
until local midnight or ``quota_pause_hours``; account-level faults (48001, 40164, 40125/40013, 40037 or no
template, 45011) → delivery of that kind or of all is held, nothing failed (reminders/holds.py); anything
else → ``failed`` at once (``lianxin outbox --failed``). A template message carries the push's named values
on the configured keys (reminders/template_values.py) and a link to the whole message (storage/push_links.py).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers import request_routing, unreachable_notices
from reminders import holds, lease
from reminders.channels import (
    is_digest,
    link_for,
    make_links,
    merge,
    plan_person,
    recipients,
    split_text,
    template_for,
    unmerge,
    window_refused,
)
from reminders.outbox_claims import (
    CLAIM_SECONDS,
    claim,
    expire_stale,
    finish,
    record_failed,
    record_parts_sent,
    record_retry,
    record_sent,
    release,
    requeue_refused,
)
from reminders.render import render
from reminders.wechat_port import (
    CONTENT_TOO_LONG,
    DAILY_QUOTA,
    FALLBACK_TO_TEMPLATE,
    REFUSED,
    UNREACHABLE,
    TransientError,
    WechatApi,
    WechatError,
)
from storage.audit import record
from storage.db import is_sqlite
from storage.models import Cadre, Household, OutboxMessage, VillagerRequest, WechatIdentity
from storage.outbox import enqueue
from storage.reachability import REFUSED as REFUSED_REASON
from storage.reachability import mark_unreachable
from storage.runtime import Lianxin
from storage.tasks import office_recipients
from storage.timestamps import utcnow

log = logging.getLogger("lianxin.delivery")

PAUSE_LEASE = "delivery-paused"
SQLITE_LEASE = "dispatcher-sqlite"


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    sent_custom: int = 0
    sent_template: int = 0
    merged: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0  # reminders dropped because their period ended before delivery
    paused: bool = False
    held: list[str] = field(default_factory=list)  # scopes held by an account-level fault (reminders.holds)
    busy: bool = False  # SQLite: another dispatcher holds the lease
    not_configured: bool = False  # [wechat] app_id / app_secret empty: nothing sent, nothing lost
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchResult) -> None:
        for name in (
            "claimed",
            "sent",
            "sent_custom",
            "sent_template",
            "merged",
            "retried",
            "failed",
            "expired",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.paused = self.paused or other.paused
        self.errors.extend(other.errors)


def _worker_id() -> str:
    return f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def paused_until(lx: Lianxin) -> datetime | None:
    held = lease.holder_of(lx.engine, PAUSE_LEASE, now=utcnow())
    return held[1] if held else None


def configured(lx: Lianxin) -> bool:
    return bool(lx.config["wechat"]["app_id"] and lx.config["wechat"]["app_secret"])


def make_client(lx: Lianxin) -> WechatApi:
    """The injected API client (``Lianxin.wechat_api``, set by bot.app.build)."""
    if lx.wechat_api is None:
        raise RuntimeError("no WeChat API client wired: build the Lianxin with bot.app.build")
    client: WechatApi = lx.wechat_api()
    return client


# --------------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------------


class _Pause(Exception):
    pass


class _Hold(Exception):
    def __init__(self, scope: str, template_only: bool = False) -> None:
        super().__init__(scope)
        self.scope = scope
        self.template_only = template_only


def dispatch_outbox(
    lx: Lianxin,
    now: datetime | None = None,
    *,
    client: WechatApi | None = None,
    limit: int = 500,
    max_batches: int = 1000,
    worker: str | None = None,
) -> DispatchResult:
    """Deliver everything due at ``now`` (default: the clock). Safe to run in several processes at once."""
    now = now or lx.now()
    result = DispatchResult()
    # Before anything can hold the queue back: the pushes of people who refused messages and wrote to us since
    # are due again, and a reminder whose period is over is dropped, not delivered late.
    requeue_refused(lx, now)
    result.expired = expire_stale(lx, now)
    if not configured(lx):
        # No AppID/AppSecret (a demo or a fresh install): keep everything queued rather than fail it.
        result.not_configured = True
        return result
    if paused_until(lx) is not None:
        result.paused = True
        return result
    current = holds.active(lx)
    all_held, held_kinds, template_held = holds.blocked(current, now)
    if all_held:
        result.paused = True
        result.held = sorted(h.scope for h in current)
        return result
    probing = {h.scope for h in current if h.next_probe_at <= now}
    worker = worker or _worker_id()
    sqlite = is_sqlite(lx.engine)
    if sqlite and not lease.acquire(
        lx.engine, SQLITE_LEASE, worker, ttl=timedelta(seconds=CLAIM_SECONDS), now=utcnow()
    ):
        result.busy = True
        return result
    own_client = client is None
    client = client or make_client(lx)
    given_back: set[int] = set()  # rows this run released for a held template: not claimed again this run
    try:
        for _ in range(max_batches):
            claim_id = f"{worker}:{uuid.uuid4().hex[:8]}"
            batch = claim(
                lx,
                claim_id=claim_id,
                now=now,
                limit=limit,
                exclude_kinds=held_kinds,
                template_held=template_held,
                skip_ids=given_back,
            )
            if not batch:
                break
            result.claimed += len(batch)
            try:
                _deliver_batch(
                    lx,
                    client,
                    batch,
                    claim_id,
                    now,
                    result,
                    held_kinds,
                    probing,
                    template_held=template_held,
                    given_back=given_back,
                )
            except _Pause:
                result.paused = True
                break
            if sqlite:
                lease.acquire(
                    lx.engine, SQLITE_LEASE, worker, ttl=timedelta(seconds=CLAIM_SECONDS), now=utcnow()
                )
    finally:
        if sqlite:
            lease.release(lx.engine, SQLITE_LEASE, worker)
        if own_client:
            client.close()
    return result


def _deliver_batch(
    lx: Lianxin,
    client: WechatApi,
    batch: list[OutboxMessage],
    claim_id: str,
    now: datetime,
    result: DispatchResult,
    held_kinds: set[str] | None = None,
    probing: set[str] | None = None,
    *,
    template_held: set[str] | None = None,
    given_back: set[int] | None = None,
) -> None:
    held_kinds = set() if held_kinds is None else held_kinds
    probing = set() if probing is None else probing
    template_held = set() if template_held is None else template_held
    given_back = set() if given_back is None else given_back
    limit = lx.config["wechat"]["custom_text_max_bytes"]
    by_person: dict[str, list[OutboxMessage]] = defaultdict(list)
    for m in batch:
        if is_digest(m):  # a digest released by a pause or a hold: its messages go their own ways again
            m = unmerge(lx, m, claim_id)
        by_person[m.openid].append(m)
    people = recipients(lx, list(by_person), now)
    plan: list[tuple[OutboxMessage, str]] = []  # (message, "custom" | "template")
    for openid, msgs in by_person.items():
        r = people[openid]
        if r.unreachable:
            for m in msgs:
                _undeliverable(lx, m, claim_id, r.reason or "无法送达", now, refuses=r.refuses)
                result.failed += 1
            continue
        for group, channel in plan_person(
            msgs, window_open=r.window_open, quota_left=r.quota_left, limit=limit
        ):
            if len(group) > 1:
                result.merged += len(group) - 1
                plan.append((merge(lx, group, claim_id), channel))
            else:
                plan.append((group[0], channel))
    closed: set[str] = set()  # people WeChat refused a customer-service message this batch (45015/45047)
    links = make_links(
        lx,
        [
            m
            for m, channel in plan
            if channel == "template" and m.kind not in held_kinds and m.kind not in template_held
        ],
        now,
    )
    for i, (m, channel) in enumerate(plan):
        if m.kind in held_kinds:
            _release(lx, [m], claim_id)
            continue
        if channel == "custom" and m.openid in closed:
            if is_digest(m):
                m = unmerge(lx, m, claim_id)
            channel = "template"
        if channel == "template" and m.kind in template_held:
            # its template is held: it waits for the cure (or for a window that lets it go as a message)
            _release(lx, [m], claim_id, note="held")
            given_back.add(m.id)
            continue
        try:
            sent = _send_one(lx, client, m, channel, claim_id, now, result, closed, links)
        except _Pause:
            _release(lx, [p for p, _ in plan[i:]], claim_id, note="45009: delivery paused")
            raise
        except _Hold as h:
            result.held = sorted(set(result.held) | {h.scope})
            if h.scope == "all":
                _release(lx, [p for p, _ in plan[i:]], claim_id, note=f"held: {m.last_error or h.scope}")
                raise _Pause() from None
            _release(lx, [m], claim_id, note="held")
            if h.template_only:
                template_held.add(h.scope)
                given_back.add(m.id)
            else:
                held_kinds.add(h.scope)
            continue
        if sent and probing:
            # A probe went through: the cause is gone. A kind held for its template is cured by a template.
            cured = {"all"} & probing
            if sent == "template" and m.kind in probing:
                cured.add(m.kind)
            if cured:
                holds.lift(lx, cured)
                probing -= cured


def _release(lx: Lianxin, msgs: list[OutboxMessage], claim_id: str, note: str | None = None) -> None:
    """Give unsent rows back (pause, hold); a digest among them is taken apart first, so that nothing stays
    merged into a row that may never be sent (an expired reminder, a kind held for days)."""
    for m in msgs:
        if is_digest(m):
            unmerge(lx, m, claim_id)
    release(lx, msgs, claim_id, note=note)


def _send_one(
    lx: Lianxin,
    client: WechatApi,
    m: OutboxMessage,
    channel: str,
    claim_id: str,
    now: datetime,
    result: DispatchResult,
    closed: set[str] | None = None,
    links: dict[int, str] | None = None,
) -> str | None:
    """Send one message; returns the channel it went by, or None (retried, failed, unreachable)."""
    msgid: str | None = None
    parts_sent = 0
    try:
        if channel == "custom":
            try:
                parts_sent = _send_text_parts(lx, client, m, claim_id)
            except WechatError as e:
                if (e.errcode not in FALLBACK_TO_TEMPLATE and e.errcode != CONTENT_TOO_LONG) or isinstance(
                    e, TransientError
                ):
                    raise
                log.info("outbox %s: %s on customer-service message; sending as template", m.id, e.errcode)
                if e.errcode == CONTENT_TOO_LONG:
                    log.warning(
                        "outbox %s: 45002, WeChat took no %d-byte text: lower [wechat] custom_text_max_bytes",
                        m.id,
                        len(str((m.payload or {}).get("text", "")).encode("utf-8")),
                    )
                channel = "template"
                if e.errcode in FALLBACK_TO_TEMPLATE:
                    window_refused(lx, m.openid, e.errcode, now)
                    if closed is not None:
                        closed.add(m.openid)
                if is_digest(m):  # each merged message goes as its own template, with its own values
                    m = unmerge(lx, m, claim_id)
        if channel == "template":
            if is_digest(m):
                m = unmerge(lx, m, claim_id)
            tpl = template_for(lx, m)
            if tpl is None:
                raise WechatError(
                    holds.NO_TEMPLATE,
                    f"no template id configured for kind {m.kind!r} ([wechat.templates.{m.kind}] id)",
                )
            url = (links or {}).get(m.id) or link_for(lx, m, now)
            if lx.config["wechat"]["push_api"] == "subscribe":
                client.send_subscribe(m.openid, tpl[0], tpl[1], url=url)
            else:
                # the outbox row's id: WeChat sends one message per openid + id for 10 minutes, which covers a
                # retry after a claim (CLAIM_SECONDS) ran out behind a dispatcher that died mid-send
                answer = client.send_template(m.openid, tpl[0], tpl[1], url=url, client_msg_id=f"lx{m.id}")
                msgid = str(answer.get("msgid") or "")[:32] or None
    except TransientError as e:
        if is_digest(m):  # tried again later as itself; its merged messages go their own ways meanwhile
            m = unmerge(lx, m, claim_id)
        outcome = record_retry(lx, m, claim_id, str(e), now)
        result.retried += outcome == "retried"
        result.failed += outcome == "failed"
        return None
    except WechatError as e:
        if is_digest(m):
            m = unmerge(lx, m, claim_id)
        if e.errcode in DAILY_QUOTA:
            _pause(lx, now)
            raise _Pause() from None
        fault = holds.fault_for(e.errcode)
        if fault is not None:
            # Account-level: no retry of this message can cure it. Hold, do not fail (reminders/holds.py).
            scope = holds.scope_of(fault, m.kind)
            log.warning("outbox %s: %s; delivery of %s held", m.id, e, scope)
            holds.hold(lx, scope=scope, errcode=e.errcode, detail=str(e), now=now)
            m.last_error = str(e)
            raise _Hold(scope, fault.template_only and scope != "all") from None
        if e.errcode in UNREACHABLE:
            _mark_unreachable(lx, m, claim_id, e, now)
        elif e.errcode in REFUSED:
            _mark_refused(lx, m, claim_id, e, now)
        else:
            record_failed(lx, m, claim_id, str(e))
        result.failed += 1
        result.errors.append(f"{m.id}: {e}")
        return None
    record_sent(lx, m, claim_id, channel, now, msgid, window_messages=parts_sent)
    result.sent += 1
    if channel == "custom":
        result.sent_custom += 1
    else:
        result.sent_template += 1
    return channel


def _send_text_parts(lx: Lianxin, client: WechatApi, m: OutboxMessage, claim_id: str) -> int:
    """Send ``m`` as customer-service text, in parts when longer than ``[wechat] custom_text_max_bytes``;
    returns how many window messages went. Each part sent is recorded on the row, so a retry after a temporary
    error goes on from the next part instead of sending the first ones twice."""
    parts = split_text(str((m.payload or {}).get("text", "")), lx.config["wechat"]["custom_text_max_bytes"])
    done = int((m.payload or {}).get("parts_sent") or 0)
    for i in range(done, len(parts)):
        client.send_text(m.openid, parts[i])
        if i + 1 < len(parts):
            record_parts_sent(lx, m, claim_id, i + 1)
    return len(parts) - done


def _pause(lx: Lianxin, now: datetime) -> None:
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


def _undeliverable(
    lx: Lianxin, m: OutboxMessage, claim_id: str, reason: str, now: datetime, *, refuses: bool = False
) -> None:
    """A push to someone already known to be unreachable: no call to WeChat. A villager's request to a cadre
    goes to the office instead (handlers/request_routing.py); a push to someone who refuses messages waits
    (``refused``) until they write to us again; anything else fails, saying why."""
    with lx.session() as s:
        rerouted = _reroute_request(s, lx, m, reason, now)
        note = f"unreachable: {reason}" + ("（诉求已转办公室）" if rerouted else "")
        status = "refused" if refuses and not rerouted else "failed"
        attempts = m.attempts + (status == "failed")
        finish(s, m, claim_id, status=status, attempts=attempts, last_error=note)


def _mark_refused(lx: Lianxin, m: OutboxMessage, claim_id: str, e: WechatError, now: datetime) -> None:
    """48002/43101: the person switched off the account's messages. The push is kept (``refused``) and so are
    their others, untried, until they write to us again (outbox_claims.requeue_refused); the office is told
    once; a villager's request to such a cadre goes to the office."""
    reason = f"{REFUSED_REASON}（{e.errcode}）"
    with lx.session() as s:
        rerouted = _reroute_request(s, lx, m, reason, now)
        finish(
            s,
            m,
            claim_id,
            status="failed" if rerouted else "refused",
            attempts=m.attempts + 1,
            last_error=str(e) + ("（诉求已转办公室）" if rerouted else ""),
        )
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == m.openid))
        if ident is not None and mark_unreachable(ident, reason, unfollowed=False, now=now):
            unreachable_notices.refuses_messages(s, ident, reason=reason, config=lx.config, now=now)


def _reroute_request(s: Session, lx: Lianxin, m: OutboxMessage, reason: str, now: datetime) -> bool:
    """A villager's request (kind ``request``) that cannot reach its cadre: to the office, the villager told."""
    number = str(((m.payload or {}).get("template") or {}).get("number", ""))
    if m.kind != "request" or not number.isdigit():
        return False
    ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == m.openid))
    if ident is None or ident.kind != "cadre":
        return False  # the office's own copy of a request (its account unreachable) is not sent on again
    return request_routing.reroute(
        s, number=int(number), reason=reason, key=m.idempotency_key, config=lx.config, now=now
    )


def _mark_unreachable(lx: Lianxin, m: OutboxMessage, claim_id: str, e: WechatError, now: datetime) -> None:
    reason = f"{e.errcode} 用户已取消关注" if e.errcode == 43004 else str(e)
    with lx.session() as s:
        rerouted = _reroute_request(s, lx, m, reason, now)
        finish(
            s,
            m,
            claim_id,
            status="failed",
            attempts=m.attempts + 1,
            last_error=str(e) + ("（诉求已转办公室）" if rerouted else ""),
        )
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == m.openid))
        who = m.openid
        if ident is not None:
            mark_unreachable(ident, reason, unfollowed=e.errcode == 43004, now=now)
            if ident.cadre_id:
                c = s.get(Cadre, ident.cadre_id)
                who = f"干部 {c.name}（{c.phone}）" if c else who
            elif ident.household_id:
                h = s.get(Household, ident.household_id)
                who = f"农户 {h.head_name}" if h else who
        for openid in office_recipients(s, lx.config["scheduler"]["office_openids"]):
            if openid == m.openid:
                continue
            enqueue(
                s,
                openid=openid,
                kind="notice",
                text=render(
                    "unreachable_notice", who=who, reason=reason, text=(m.payload or {}).get("text", "")
                ),
                key=f"unreachable:{m.openid}:{openid}",
            )
        sender = None if rerouted else _sender_of(s, m)  # a rerouted request's villager hears it from there
        if sender is not None and sender != m.openid:
            # Whoever the message came from (the cadre who answered, the villager who asked) learns it did not
            # arrive, so they can phone instead.
            enqueue(
                s,
                openid=sender,
                kind="notice",
                key=f"unreachable-sender:{m.id}",
                text=render("unreachable_sender", who=who, text=(m.payload or {}).get("text", "")),
            )


def _sender_of(s: Session, m: OutboxMessage) -> str | None:
    """The openid of whoever a relayed message came from: a reply's cadre, a request's villager."""
    number = str(((m.payload or {}).get("template") or {}).get("number", ""))
    if m.kind not in ("reply", "request") or not number.isdigit():
        return None
    req = s.scalar(select(VillagerRequest).where(VillagerRequest.number == int(number)))
    if req is None:
        return None
    if m.kind == "request":
        ident = s.get(WechatIdentity, req.identity_id)
        return ident.openid if ident is not None and not ident.unreachable else None
    return s.scalar(
        select(WechatIdentity.openid)
        .where(
            WechatIdentity.cadre_id == req.cadre_id,
            WechatIdentity.kind == "cadre",
            WechatIdentity.unreachable.is_(False),
        )
        .limit(1)
    )


# --------------------------------------------------------------------------------------------------
# Listing for `lianxin outbox` and the console
# --------------------------------------------------------------------------------------------------


def list_outbox(
    session: Session, *, failed_only: bool = False, status: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if failed_only or status:
        q = q.where(OutboxMessage.status == (status or "failed"))
    return list(session.scalars(q))


def outbox_counts(session: Session) -> dict[str, int]:
    return dict(
        session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    )


def retry(session: Session, message_id: int, *, now: datetime, actor: str = "cli") -> OutboxMessage:
    """Put a failed message back in the queue (after the cause was fixed)."""
    m = session.get(OutboxMessage, message_id)
    if m is None:
        raise ValueError(f"没有编号为 {message_id} 的消息")
    if m.status != "failed":
        raise ValueError(f"消息 {message_id} 的状态是 {m.status}，只有失败的消息可以重发")
    m.status, m.attempts, m.next_attempt_at, m.claimed_by, m.claimed_until = "pending", 0, now, None, None
    record(session, actor=actor, action="outbox.retry", target=f"outbox:{message_id}")
    return m
