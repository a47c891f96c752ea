"""Delivery of the outbox to WeChat (claims in outbox_claims.py, the channel in channels.py, media in media.py,
pushes to people who cannot be reached in undeliverable.py).

One dispatch run:
0. makes due again the pushes of people who refused messages and wrote to us since, and drops as ``expired``
   every reminder whose period is over (outbox_claims: ``requeue_refused``, ``expire_stale``) — held or not.
1. claims due rows: ``pending`` rows whose next attempt has come, and ``sending`` rows whose claim expired
   (their dispatcher died). PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` so several dispatchers share the
   queue; SQLite: a database lease so one dispatcher works at a time. Claimed rows get ``sending`` with a
   ``claimed_until`` lease, in a short committed transaction — a dispatcher killed mid-batch loses nothing,
   its rows are claimed again once the lease runs out.
2. chooses the channel per recipient (channels.plan_person): customer-service messages while the 48-hour window
   is open and its messages (``[wechat] custom_quota_per_window``) last — a long text in parts of at most
   ``custom_text_max_bytes``, what does not fit merged into digests that fit — else template messages.
3. sends each message and records the answer in a one-row UPDATE (conditional on the claim). A message can
   thus go out twice only if the process dies between WeChat's answer and that UPDATE — and then not a
   template message sent again within 10 minutes: it carries the row's id as WeChat's ``client_msg_id``
   (防重入 id), so WeChat shows it once. A customer-service message has no such id and may show twice.

Errors: temporary (5xx, timeouts, -1) → back-off ``retry_base_seconds * 2^(attempts-1)`` up to 1 h, and
``failed`` after ``max_attempts``; 45015/45047 (recorded on the window) and 45002 → the same message as a
template at once; 43004 → the person is marked unreachable, the office and the sender told; 48002/43101 (they
switched off the account's messages) → the push ``refused``, the person marked, the office told once, their
pushes kept untried until they write again (a ``TEMPLATESENDJOBFINISH`` event ``failed:user block`` does the
same afterwards, handlers/events.py); a villager's request that cannot reach its cadre goes to the office
(handlers/request_routing.py); 45009 → delivery pauses until local midnight or ``quota_pause_hours``
(holds.pause_for_quota); account-level faults (48001, 40164, 40125/40013, 45011) hold all delivery and template
faults (40037 or no template, 47003, 43116, 48004) the kind's template messages, nothing failed
(reminders/holds.py); anything else → ``failed`` at once (``lianxin outbox --failed``). A digest never outlives
the send that carries it: any other outcome takes it apart (channels.unmerge). A template message carries the
push's named values on the configured keys (reminders/template_values.py) and a link to the whole message
(storage/push_links.py).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reminders import holds, lease
from reminders.channels import (
    is_digest,
    link_for,
    make_links,
    merge,
    plan_person,
    recipients,
    send_text_parts,
    template_for,
    unmerge,
    window_refused,
)
from reminders.holds import PAUSE_LEASE, paused_until  # noqa: F401 - re-exported (45009 pauses all)
from reminders.outbox_claims import (
    CLAIM_SECONDS,
    claim,
    expire_stale,
    record_failed,
    record_retry,
    record_sent,
    release,
    requeue_refused,
)
from reminders.outbox_listing import list_outbox, outbox_counts, retry  # noqa: F401 - re-exported
from reminders.undeliverable import mark_refused, mark_unreachable_on_send, undeliverable
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
from storage.db import is_sqlite
from storage.models import OutboxMessage
from storage.runtime import Lianxin

log = logging.getLogger("lianxin.delivery")

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
        lx.engine, SQLITE_LEASE, worker, ttl=timedelta(seconds=CLAIM_SECONDS), now=lease.real_now()
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
                    lx.engine,
                    SQLITE_LEASE,
                    worker,
                    ttl=timedelta(seconds=CLAIM_SECONDS),
                    now=lease.real_now(),
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
                undeliverable(lx, m, claim_id, r.reason or "无法送达", now, refuses=r.refuses)
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
                parts_sent = send_text_parts(lx, client, m, claim_id)
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
            holds.pause_for_quota(lx)
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
            mark_unreachable_on_send(lx, m, claim_id, e, now)
        elif e.errcode in REFUSED:
            mark_refused(lx, m, claim_id, e, now)
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
