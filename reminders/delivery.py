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
(storage/requests.py); 45009 → delivery pauses until local midnight or ``quota_pause_hours``
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
    return bool(lx.config.wechat.app_id and lx.config.wechat.app_secret)


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
    held = _held(lx, now, result)
    if held is None:
        return result
    worker = worker or _worker_id()
    sqlite = is_sqlite(lx.engine)
    if sqlite and not _sqlite_turn(lx, worker):
        result.busy = True
        return result
    own_client = client is None
    run = _Run(lx, client or make_client(lx), now, result, *held)
    try:
        for _ in range(max_batches):
            if not _one_batch(run, worker, limit):
                break
            if sqlite:
                _sqlite_turn(lx, worker)
    finally:
        if sqlite:
            lease.release(lx.engine, SQLITE_LEASE, worker)
        if own_client:
            run.client.close()
    return result


@dataclass
class _Run:
    """One dispatch run, shared by its batches: what is held (kinds, kinds whose template only), the holds whose
    probe time has come, the rows this run gave back (not claimed again), and the result."""

    lx: Lianxin
    client: WechatApi
    now: datetime
    result: DispatchResult
    held_kinds: set[str]
    template_held: set[str]
    probing: set[str]
    given_back: set[int] = field(default_factory=set)


def _held(lx: Lianxin, now: datetime, result: DispatchResult) -> tuple[set[str], set[str], set[str]] | None:
    """None when nothing may go now — no AppID/AppSecret (a demo or a fresh install: everything stays queued
    rather than fails), a 45009 pause, or everything held (noted on ``result``); else (kinds held, kinds whose
    template only is held, holds to probe with this run)."""
    if not configured(lx):
        result.not_configured = True
        return None
    if paused_until(lx) is not None:
        result.paused = True
        return None
    current = holds.active(lx)
    all_held, held_kinds, template_held = holds.blocked(current, now)
    if all_held:
        result.paused = True
        result.held = sorted(h.scope for h in current)
        return None
    return held_kinds, template_held, {h.scope for h in current if h.next_probe_at <= now}


def _sqlite_turn(lx: Lianxin, worker: str) -> bool:
    """SQLite: one dispatcher at a time, by a lease taken before the first batch and renewed after each."""
    ttl = timedelta(seconds=CLAIM_SECONDS)
    return lease.acquire(lx.engine, SQLITE_LEASE, worker, ttl=ttl, now=lease.real_now())


def _one_batch(run: _Run, worker: str, limit: int) -> bool:
    """Claim a batch and deliver it; False when there was nothing to claim or delivery paused."""
    claim_id = f"{worker}:{uuid.uuid4().hex[:8]}"
    batch = claim(
        run.lx,
        claim_id=claim_id,
        now=run.now,
        limit=limit,
        exclude_kinds=run.held_kinds,
        template_held=run.template_held,
        skip_ids=run.given_back,
    )
    if not batch:
        return False
    run.result.claimed += len(batch)
    try:
        _deliver_batch(run, batch, claim_id)
    except _Pause:
        run.result.paused = True
        return False
    return True


def _deliver_batch(run: _Run, batch: list[OutboxMessage], claim_id: str) -> None:
    """Send a claimed batch as planned per person; a hold met on the way gives back what it holds, a pause gives
    back the rest of the batch (``_Pause`` goes up: the run stops)."""
    lx = run.lx
    plan = _plan(run, batch, claim_id)
    closed: set[str] = set()  # people WeChat refused a customer-service message this batch (45015/45047)
    held = run.held_kinds | run.template_held
    links = make_links(
        lx, [m for m, channel in plan if channel == "template" and m.kind not in held], run.now
    )
    for i, (m, channel) in enumerate(plan):
        if m.kind in run.held_kinds:
            _release(lx, [m], claim_id)
            continue
        if channel == "custom" and m.openid in closed:
            if is_digest(m):
                m = unmerge(lx, m, claim_id)
            channel = "template"
        if channel == "template" and m.kind in run.template_held:
            # its template is held: it waits for the cure (or for a window that lets it go as a message)
            _release(lx, [m], claim_id, note="held")
            run.given_back.add(m.id)
            continue
        try:
            sent = _send_one(run, m, channel, claim_id, closed, links)
        except _Pause:
            _release(lx, [p for p, _ in plan[i:]], claim_id, note="45009: delivery paused")
            raise
        except _Hold as h:
            _hold_met(run, h, m, [p for p, _ in plan[i:]], claim_id)
            continue
        if sent and run.probing:
            _lift_cured(run, sent, m)


def _plan(run: _Run, batch: list[OutboxMessage], claim_id: str) -> list[tuple[OutboxMessage, str]]:
    """(message, "custom" | "template") per message of the batch, by person (channels.plan_person: the window's
    messages first, what does not fit merged into digests); people who cannot be reached are settled here."""
    lx = run.lx
    by_person: dict[str, list[OutboxMessage]] = defaultdict(list)
    for m in batch:
        if is_digest(m):  # a digest released by a pause or a hold: its messages go their own ways again
            m = unmerge(lx, m, claim_id)
        by_person[m.openid].append(m)
    people = recipients(lx, list(by_person), run.now)
    limit = lx.config.wechat.custom_text_max_bytes
    plan: list[tuple[OutboxMessage, str]] = []
    for openid, msgs in by_person.items():
        r = people[openid]
        if r.unreachable:
            for m in msgs:
                undeliverable(lx, m, claim_id, r.reason or "无法送达", run.now, refuses=r.refuses)
                run.result.failed += 1
            continue
        for group, channel in plan_person(
            msgs, window_open=r.window_open, quota_left=r.quota_left, limit=limit
        ):
            if len(group) > 1:
                run.result.merged += len(group) - 1
                plan.append((merge(lx, group, claim_id), channel))
            else:
                plan.append((group[0], channel))
    return plan


def _hold_met(run: _Run, h: _Hold, m: OutboxMessage, rest: list[OutboxMessage], claim_id: str) -> None:
    """An account-level fault held ``m``'s scope: everything (the batch's rest is given back, the run pauses), or
    its kind (the kind is not sent this run), or its kind's template only (still sent inside windows)."""
    run.result.held = sorted(set(run.result.held) | {h.scope})
    if h.scope == "all":
        _release(run.lx, rest, claim_id, note=f"held: {m.last_error or h.scope}")
        raise _Pause() from None
    _release(run.lx, [m], claim_id, note="held")
    if h.template_only:
        run.template_held.add(h.scope)
        run.given_back.add(m.id)
    else:
        run.held_kinds.add(h.scope)


def _lift_cured(run: _Run, sent: str, m: OutboxMessage) -> None:
    """A probe went through: the cause is gone. A kind held for its template is cured by a template."""
    cured = {"all"} & run.probing
    if sent == "template" and m.kind in run.probing:
        cured.add(m.kind)
    if cured:
        holds.lift(run.lx, cured)
        run.probing -= cured


def _release(lx: Lianxin, msgs: list[OutboxMessage], claim_id: str, note: str | None = None) -> None:
    """Give unsent rows back (pause, hold); a digest among them is taken apart first, so that nothing stays
    merged into a row that may never be sent (an expired reminder, a kind held for days)."""
    for m in msgs:
        if is_digest(m):
            unmerge(lx, m, claim_id)
    release(lx, msgs, claim_id, note=note)


def _send_one(
    run: _Run, m: OutboxMessage, channel: str, claim_id: str, closed: set[str], links: dict[int, str]
) -> str | None:
    """Send one message; returns the channel it went by, or None (retried, failed, unreachable)."""
    lx = run.lx
    msgid: str | None = None
    parts_sent = 0
    try:
        if channel == "custom":
            parts = _send_custom(run, m, claim_id, closed)
            if parts is None:
                channel = "template"
            else:
                parts_sent = parts
        if channel == "template":
            if is_digest(m):  # each merged message goes as its own template, with its own values
                m = unmerge(lx, m, claim_id)
            msgid = _send_template(run, m, links)
    except TransientError as e:
        if is_digest(m):  # tried again later as itself; its merged messages go their own ways meanwhile
            m = unmerge(lx, m, claim_id)
        outcome = record_retry(lx, m, claim_id, str(e), run.now)
        run.result.retried += outcome == "retried"
        run.result.failed += outcome == "failed"
        return None
    except WechatError as e:
        if is_digest(m):
            m = unmerge(lx, m, claim_id)
        _refused(run, m, claim_id, e)
        return None
    record_sent(lx, m, claim_id, channel, run.now, msgid, window_messages=parts_sent)
    run.result.sent += 1
    if channel == "custom":
        run.result.sent_custom += 1
    else:
        run.result.sent_template += 1
    return channel


def _send_custom(run: _Run, m: OutboxMessage, claim_id: str, closed: set[str]) -> int | None:
    """Send ``m`` as customer-service message(s); the parts sent, or None when WeChat's answer says to send it as
    a template instead (45015/45047: the window is closed, recorded and remembered for the batch; 45002: too
    long). Any other error goes up."""
    try:
        return send_text_parts(run.lx, run.client, m, claim_id)
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
        if e.errcode in FALLBACK_TO_TEMPLATE:
            window_refused(run.lx, m.openid, e.errcode, run.now)
            closed.add(m.openid)
        return None


def _send_template(run: _Run, m: OutboxMessage, links: dict[int, str]) -> str | None:
    """Send ``m`` as a template message with its link; WeChat's msgid (a later TEMPLATESENDJOBFINISH names it)."""
    tpl = template_for(run.lx, m)
    if tpl is None:
        raise WechatError(
            holds.NO_TEMPLATE,
            f"no template id configured for kind {m.kind!r} ([wechat.templates.{m.kind}] id)",
        )
    url = links.get(m.id) or link_for(run.lx, m, run.now)
    # the outbox row's id: WeChat sends one message per openid + id for 10 minutes, which covers a
    # retry after a claim (CLAIM_SECONDS) ran out behind a dispatcher that died mid-send
    answer = run.client.send_template(m.openid, tpl[0], tpl[1], url=url, client_msg_id=f"lx{m.id}")
    return str(answer.get("msgid") or "")[:32] or None


def _refused(run: _Run, m: OutboxMessage, claim_id: str, e: WechatError) -> None:
    """WeChat refused ``m`` for good: 45009 pauses all delivery (``_Pause``); an account-level fault holds its
    scope, nothing failed (``_Hold``, reminders/holds.py); the person unreachable or refusing messages is marked;
    anything else fails the message."""
    lx = run.lx
    if e.errcode in DAILY_QUOTA:
        holds.pause_for_quota(lx)
        raise _Pause() from None
    fault = holds.fault_for(e.errcode)
    if fault is not None:
        # Account-level: no retry of this message can cure it. Hold, do not fail (reminders/holds.py).
        scope = holds.scope_of(fault, m.kind)
        log.warning("outbox %s: %s; delivery of %s held", m.id, e, scope)
        holds.hold(lx, scope=scope, errcode=e.errcode, detail=str(e), now=run.now)
        m.last_error = str(e)
        raise _Hold(scope, fault.template_only and scope != "all") from None
    if e.errcode in UNREACHABLE:
        mark_unreachable_on_send(lx, m, claim_id, e, run.now)
    elif e.errcode in REFUSED:
        mark_refused(lx, m, claim_id, e, run.now)
    else:
        record_failed(lx, m, claim_id, str(e))
    run.result.failed += 1
    run.result.errors.append(f"{m.id}: {e}")
