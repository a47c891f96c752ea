"""Choosing the channel per recipient: the 48-hour window, its customer-service quota, template or digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from reminders.outbox_claims import record_parts_sent
from reminders.render import render
from reminders.template_values import template_data, values_of
from reminders.wechat_port import WechatApi
from storage.models import OutboxMessage, WechatIdentity
from storage.outbox import push_time
from storage.push_links import create_link, create_links
from storage.reachability import refuses_messages
from storage.runtime import Lianxin


@dataclass
class Recipient:
    openid: str
    identity_id: int | None
    window_open: bool
    quota_left: int
    unreachable: bool
    reason: str | None
    refuses: bool = False  # still follows but switched off messages: pushes wait until they write again


def recipients(lx: Lianxin, openids: list[str], now: datetime) -> dict[str, Recipient]:
    """Each person's window as WeChat counts it (bot.dispatch stores it with the message that opened it):
    open until ``window_until``, ``window_quota`` customer-service messages (5 after a user's message, 3 after a
    follow, scan or menu click), less those already sent since it opened."""
    cap = lx.config.wechat.custom_quota_per_window
    out: dict[str, Recipient] = {}
    with lx.read_session() as s:
        idents = {
            i.openid: i for i in s.scalars(select(WechatIdentity).where(WechatIdentity.openid.in_(openids)))
        }
        # Customer-service messages already sent since the action that opened this window.
        used = dict(
            s.execute(
                select(OutboxMessage.openid, func.count())
                .join(WechatIdentity, WechatIdentity.openid == OutboxMessage.openid)
                .where(
                    OutboxMessage.openid.in_(openids),
                    OutboxMessage.status == "sent",
                    OutboxMessage.channel == "custom",
                    WechatIdentity.window_opened_at.is_not(None),
                    OutboxMessage.sent_at >= WechatIdentity.window_opened_at,
                )
                .group_by(OutboxMessage.openid)
            )
            .tuples()
            .all()
        )
    for openid in openids:
        ident = idents.get(openid)
        if ident is None:
            out[openid] = Recipient(openid, None, False, 0, False, None)
            continue
        open_ = ident.window_until is not None and now < ident.window_until
        # window_sent counts every message of the window (a text's parts, forwarded photos and voice); the sent
        # rows are the older count (one per row): the larger is what WeChat has counted at least.
        spent = max(int(used.get(openid, 0)), ident.window_sent or 0)
        left = max(0, min(cap, ident.window_quota or 0) - spent) if open_ else 0
        gone = ident.unreachable or not ident.subscribed
        out[openid] = Recipient(
            openid,
            ident.id,
            open_,
            left,
            gone,
            ident.unreachable_reason or ("已取消关注" if not ident.subscribed else None),
            refuses_messages(ident),
        )
    return out


def template_for(lx: Lianxin, msg: OutboxMessage) -> tuple[str, dict[str, Any]] | None:
    """(template id, data) for this push: its named values on the kind's configured keys; None = no template."""
    table = lx.config.templates[msg.kind]
    if not table.id:
        return None
    values = values_of(msg.kind, msg.payload or {})
    at = push_time(msg.created_at or lx.now(), lx.config.tz)
    values.setdefault("time", at)
    return table.id, template_data(table.fields, values, default_time=at)


# ----------------------------------------------------------------------------------- the window's messages
#
# A customer-service text longer than WeChat takes is refused with 45002, and WeChat publishes no limit
# (docs/wechat-rules.md "推送的边界"): ``[wechat] custom_text_max_bytes`` (2000 UTF-8 bytes, under the community's
# 2048) caps every text we send. A longer message goes in numbered parts, each one of the window's messages; a
# digest of queued messages takes only as many as fit; what does not fit in the window's messages left goes as a
# template message, whose link shows the whole. A digest exists only for the one send that carries it: any other
# outcome (a template instead, a refusal, a retry, a hold) takes it apart again (``unmerge``), so no merged message
# is lost and a template never carries a digest's empty values.

PART_MARK_BYTES = 20  # room for "（12/12）" in front of each part


def text_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _within(text: str, room: int) -> str:
    """The longest beginning of ``text`` that fits ``room`` bytes (at least one character)."""
    used, end = 0, 0
    for ch in text:
        size = len(ch.encode("utf-8"))
        if used + size > room and end:
            break
        used, end = used + size, end + 1
    return text[:end]


def split_text(text: str, limit: int) -> list[str]:
    """``text`` as customer-service texts of at most ``limit`` UTF-8 bytes: whole lines where they fit, numbered
    （1/3）… when there are several. Nothing is cut off."""
    if text_bytes(text) <= limit:
        return [text]
    room = max(limit - PART_MARK_BYTES, 4)
    chunks: list[str] = []
    cur = ""
    for line in text.splitlines(keepends=True):
        while text_bytes(line) > room:  # one line longer than a part: cut it by characters
            if cur:
                chunks.append(cur)
                cur = ""
            head = _within(line, room)
            chunks.append(head)
            line = line[len(head) :]
        if cur and text_bytes(cur + line) > room:
            chunks.append(cur)
            cur = ""
        cur += line
    if cur.strip():
        chunks.append(cur)
    n = len(chunks)
    return [f"（{i}/{n}）{c.rstrip()}" for i, c in enumerate(chunks, 1)]


def _text(m: OutboxMessage) -> str:
    return str((m.payload or {}).get("text", ""))


def digest_text(msgs: list[OutboxMessage]) -> str:
    return render("digest", items=[_text(m) for m in msgs])


def plan_person(
    msgs: list[OutboxMessage], *, window_open: bool, quota_left: int, limit: int
) -> list[tuple[list[OutboxMessage], str]]:
    """How one person's messages go: ``(messages, "custom" | "template")``, several messages being one digest.

    Inside the window, while its messages last: each message as itself (in parts when longer than ``limit``);
    when they do not all fit, the first ones singly and the rest merged into digests of at most ``limit`` bytes,
    one window message each; whatever is left over (or too long for a digest and the window) as templates."""
    if not window_open or quota_left <= 0:
        return [([m], "template") for m in msgs]
    cost = {m.id: len(split_text(_text(m), limit)) for m in msgs}
    if sum(cost.values()) <= quota_left:
        return [([m], "custom") for m in msgs]
    out: list[tuple[list[OutboxMessage], str]] = []
    budget, rest = quota_left, list(msgs)
    while rest and budget - cost[rest[0].id] >= 1:  # singly, keeping one message for a digest of the rest
        m = rest.pop(0)
        out.append(([m], "custom"))
        budget -= cost[m.id]
    while rest and budget > 0:
        group: list[OutboxMessage] = []
        for m in list(rest):
            if cost[m.id] == 1 and text_bytes(digest_text([*group, m])) <= limit:
                group.append(m)
                rest.remove(m)
        if not group:
            break
        out.append((group, "custom"))
        budget -= 1
    out.extend(([m], "template") for m in rest)
    return out


def merge(lx: Lianxin, msgs: list[OutboxMessage], claim_id: str) -> OutboxMessage:
    """Turn several pending messages for one person into one digest carried by the first row (its own payload
    kept as ``original``, for ``unmerge``)."""
    carrier, rest = msgs[0], msgs[1:]
    items = [(m.payload or {}).get("text", "") for m in msgs]
    digest = render("digest", items=items)
    original = dict(carrier.payload or {})
    payload = dict(original)
    payload.update(
        {
            "text": digest,
            "original_text": items[0],
            "original": original,
            "merged": [m.id for m in rest],
            "merged_keys": [m.idempotency_key for m in rest],
            "template": None,
        }
    )
    with lx.session() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == carrier.id, OutboxMessage.claimed_by == claim_id)
            .values(payload=payload)
            .execution_options(synchronize_session=False)
        )
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([m.id for m in rest]), OutboxMessage.claimed_by == claim_id)
            .values(status="merged", merged_into=carrier.id, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    carrier.payload = payload
    return carrier


def is_digest(m: OutboxMessage) -> bool:
    return bool((m.payload or {}).get("merged"))


def unmerge(lx: Lianxin, carrier: OutboxMessage, claim_id: str) -> OutboxMessage:
    """Take a digest apart: the carrier gets its own message back (text and named values) and every message
    merged into it is pending again, each to go its own way. Returns the carrier."""
    payload = dict((carrier.payload or {}).get("original") or carrier.payload or {})
    ids = [int(i) for i in (carrier.payload or {}).get("merged", [])]
    with lx.session() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == carrier.id, OutboxMessage.claimed_by == claim_id)
            .values(payload=payload)
            .execution_options(synchronize_session=False)
        )
        if ids:
            s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.status == "merged",
                    OutboxMessage.merged_into == carrier.id,
                )
                .values(status="pending", merged_into=None, claimed_by=None, claimed_until=None)
                .execution_options(synchronize_session=False)
            )
    carrier.payload = payload
    return carrier


def window_refused(lx: Lianxin, openid: str, errcode: int, now: datetime) -> None:
    """WeChat says the window is closed (45015) or its messages are spent (45047), whatever our records say:
    record that, so the person's next messages go as templates without asking again."""
    values: dict[str, Any] = (
        {"window_until": now}
        if errcode == 45015
        else {"window_sent": WechatIdentity.window_quota}  # 45047: the quota is used up
    )
    with lx.session() as s:
        s.execute(
            update(WechatIdentity)
            .where(WechatIdentity.openid == openid)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def make_links(lx: Lianxin, msgs: list[OutboxMessage], now: datetime) -> dict[int, str]:
    """outbox id -> its link, for a batch's template messages in one transaction rather than one each."""
    out: dict[int, str] = {}
    if not msgs:
        return out
    base = lx.config.public_url
    with lx.session() as s:
        tokens = create_links(
            s,
            [{"outbox_id": m.id, "openid": m.openid, "kind": m.kind, "payload": m.payload} for m in msgs],
            now=now,
            days=lx.config.wechat.push_link_days,
        )
    for m, token in zip(msgs, tokens, strict=True):
        out[m.id] = f"{base}/m/{token}"
    return out


def link_for(lx: Lianxin, m: OutboxMessage, now: datetime) -> str:
    """``public_url``/m/<token>: the whole message behind the template's short fields (storage.push_links)."""
    with lx.session() as s:
        token = create_link(
            s,
            outbox_id=m.id,
            openid=m.openid,
            kind=m.kind,
            payload=m.payload or {},
            now=now,
            days=lx.config.wechat.push_link_days,
        )
    return f"{lx.config.public_url}/m/{token}"


def send_text_parts(lx: Lianxin, client: WechatApi, m: OutboxMessage, claim_id: str) -> int:
    """Send ``m`` as customer-service text, in parts when longer than ``[wechat] custom_text_max_bytes``;
    returns how many window messages went. Each part sent is recorded on the row, so a retry after a temporary
    error goes on from the next part instead of sending the first ones twice."""
    parts = split_text(str((m.payload or {}).get("text", "")), lx.config.wechat.custom_text_max_bytes)
    done = int((m.payload or {}).get("parts_sent") or 0)
    for i in range(done, len(parts)):
        client.send_text(m.openid, parts[i])
        if i + 1 < len(parts):
            record_parts_sent(lx, m, claim_id, i + 1)
    return len(parts) - done
