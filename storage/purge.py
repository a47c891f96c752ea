"""Removing one household's personal data on request (``lianxin purge``), keeping the programme's counts.

What goes (replaced by a placeholder or emptied):
- the household's 民情信息登记表: head's name (→ ``已清除``), phone, address, members, income, income
  sources, industries, difficulties, and the old/new values in its change history;
- what its people wrote: the text of its requests (诉求) and of every message in their conversations,
  the text and reply of every inbound message from its WeChat accounts, photos/voice attached to its
  requests (files deleted), and the text of pushes that carried them — inside digests that merged them with
  other messages too, and on those pushes' pages;
- link lists uploaded in the console and not yet confirmed (storage/uploads.py): any of them may hold its row;
- names and phone numbers of the household's people where others wrote them: diary entries and task
  feedback that name the household, the 矛盾调解 notes of disputes it is a party to (their text keeps
  everything else, the name becomes ``某户``);
- the link between its WeChat accounts and the household (they become unknown accounts; a guided
  登记 form open on the household is dropped); the ``previous`` values kept for 撤销 of its duties.

What stays, so that reports and the 五个一 ledger still add up: the household row itself (village, group,
population, the link to its cadre, its service card, the dates duties were done), each request's number,
category, status, cadre and times, replies' authors and times, diary mentions (a visit is still a visit).

The purge is recorded in the audit log (who, when, why, what was cleared — never the cleared values) and in
``Household.purged_at``. A second purge of the same household changes nothing.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from storage import cards, import_archive, uploads
from storage.accounts import normalize_phone
from storage.audit import record
from storage.db import rows_changed
from storage.models import (
    Attachment,
    ConversationState,
    DiaryEntry,
    DiaryMention,
    Dispute,
    DisputeParty,
    DisputeStep,
    DutyRecord,
    Feedback,
    Household,
    HouseholdInfoHistory,
    HouseholdTag,
    InboundMessage,
    Link,
    OutboxMessage,
    PushLink,
    RequestReply,
    RequestTransfer,
    TaskAssignment,
    TaskHousehold,
    VillagerRequest,
    WechatIdentity,
)

PURGED_NAME = "已清除"
PURGED_TEXT = "（内容已按本人要求清除）"
NAME_PLACEHOLDER = "某户"
PHONE_PLACEHOLDER = "***"


class PurgeError(Exception):
    """The household cannot be found (or the request is ambiguous); the message says why."""


@dataclass
class PurgeResult:
    household_id: int
    already: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int) -> None:
        if n:
            self.counts[what] = self.counts.get(what, 0) + n


def find_household(
    session: Session, *, card: str | None = None, household_id: int | None = None, phone: str | None = None
) -> Household:
    """Exactly one household by service-card number, id or the head's phone."""
    given = [x for x in (card, household_id, phone) if x not in (None, "")]
    if len(given) != 1:
        raise PurgeError(
            "请只指定一个：--card、--household 或 --phone / give exactly one of --card, --household, --phone"
        )
    if household_id is not None:
        h = session.get(Household, household_id)
        if h is None:
            raise PurgeError(f"没有编号为 {household_id} 的农户 / no household {household_id}")
        return h
    if card:
        found = cards.by_number(session, card)
        h = found.household if found is not None else None
        if h is None:
            raise PurgeError(f"没有卡号为 {card} 的农户 / no household with card {card}")
        return h
    assert phone is not None
    rows = list(session.scalars(select(Household).where(Household.head_phone == normalize_phone(phone))))
    if not rows:
        raise PurgeError(f"没有户主电话为 {phone} 的农户 / no household with phone {phone}")
    if len(rows) > 1:
        raise PurgeError(
            f"户主电话 {phone} 对应 {len(rows)} 户，请改用 --card / several households, use --card"
        )
    return rows[0]


def _scrubber(h: Household) -> re.Pattern[str] | None:
    """A pattern matching the household's names and phone numbers in someone else's free text."""
    words: set[str] = set()
    if h.head_name and h.head_name != PURGED_NAME and len(h.head_name.strip()) >= 2:
        words.add(h.head_name.strip())
    for m in h.members or []:
        name = str((m or {}).get("name") or "").strip() if isinstance(m, dict) else ""
        if len(name) >= 2:
            words.add(name)
    if h.head_phone and len(h.head_phone) >= 7:
        words.add(h.head_phone)
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def _scrub(pattern: re.Pattern[str] | None, text: str | None) -> str | None:
    if pattern is None or not text:
        return text
    return pattern.sub(lambda m: PHONE_PLACEHOLDER if m.group(0).isdigit() else NAME_PLACEHOLDER, text)


def purge_household(
    session: Session,
    household: Household,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    media_root: str | None = None,
) -> PurgeResult:
    """Remove ``household``'s personal data in the caller's transaction; see the module's docstring.

    One step per kind of place the data lives, in this order (each takes the result and adds its counts):
    the form, the accounts and what they sent, the requests and the pushes and pages that carried them, what
    cadres wrote, the cadres' own chat messages, the link lists waiting in the console; then the audit row."""
    h = household
    res = PurgeResult(h.id)
    if h.purged_at is not None:
        res.already = True
        return res
    pattern = _scrubber(h)  # before the form is cleared: it is made of the names and phones it holds
    cleared = _clear_form(session, h, actor=actor, now=now, res=res)
    openids = _unlink_accounts(session, h, res)
    reqs = _clear_requests(session, h, res, media_root=media_root)
    _clear_request_pushes(session, h, [r.id for r in reqs], openids, pattern, res)
    _scrub_cadres_writing(session, h, pattern, res)
    _scrub_mediation(session, h, pattern, res)
    _scrub_cadres_messages(session, h, reqs, pattern, res)
    if media_root is not None:  # link lists waiting in the console for confirmation: any may hold its row
        res.add("uploads", uploads.sweep_imports(media_root, now=now, older_than=None))
    # the archived link lists (storage/import_archive.py) of its township and the county's: any may hold its row
    res.add(
        "archived_lists",
        import_archive.forget_content(session, township_id=h.village.township_id, why="purge", now=now),
    )
    session.flush()
    record(
        session,
        actor=actor,
        action="household.purge",
        target=f"household:{h.id}",
        detail={
            "reason": reason or "",
            "fields": cleared,
            **{k: v for k, v in res.counts.items() if k != "fields"},
        },
    )
    return res


PERSONAL_FIELDS = (
    "head_phone",
    "address",
    "members",
    "annual_income",
    "income_sources",
    "industries",
    "difficulties",
)


def _clear_form(session: Session, h: Household, *, actor: str, now: datetime, res: PurgeResult) -> list[str]:
    """1. The 民情信息登记表 and its change history, and the ``previous`` values kept for 撤销 of its duties;
    the household is marked purged. Returns the names of the fields that held something (for the audit)."""
    cleared = [f for f in PERSONAL_FIELDS if getattr(h, f) not in (None, "", [])]
    if h.head_name != PURGED_NAME:
        cleared.insert(0, "head_name")
    h.head_name = PURGED_NAME
    for f in PERSONAL_FIELDS:
        setattr(h, f, None)
    h.info_updated_at, h.info_updated_by = now, actor
    h.purged_at = now
    session.execute(delete(HouseholdTag).where(HouseholdTag.household_id == h.id))  # 重点人群: personal too
    res.add("fields", len(cleared))
    res.add(
        "history",
        _rows(
            session,
            update(HouseholdInfoHistory)
            .where(HouseholdInfoHistory.household_id == h.id)
            .values(old_value=None, new_value=None),
        ),
    )
    res.add(
        "duty_previous",
        _rows(
            session,
            update(DutyRecord)
            .where(DutyRecord.household_id == h.id, DutyRecord.previous.is_not(None))
            .values(previous=None),
        ),
    )
    return cleared


def _rows(session: Session, stmt: Any) -> int:
    """How many rows a bulk UPDATE or DELETE changed (the session's objects are not synchronised)."""
    return rows_changed(session.execute(stmt.execution_options(synchronize_session=False)))


def _unlink_accounts(session: Session, h: Household, res: PurgeResult) -> list[str]:
    """2. Its WeChat accounts (linked, or that sent its requests): unlinked from it, what they sent emptied, a
    guided 登记 form open on it dropped. Returns their openids (their pushes and pages go in step 3)."""
    idents = list(
        session.scalars(
            select(WechatIdentity).where(
                or_(
                    WechatIdentity.household_id == h.id,
                    WechatIdentity.id.in_(
                        select(VillagerRequest.identity_id).where(VillagerRequest.household_id == h.id)
                    ),
                )
            )
        )
    )
    openids = [i.openid for i in idents]
    for ident in idents:
        if ident.household_id == h.id:
            ident.household_id = None
            ident.kind = "unknown" if ident.kind == "villager" else ident.kind
            ident.bound_at = None if ident.kind == "unknown" else ident.bound_at
            res.add("accounts_unlinked", 1)
    if openids:
        res.add(
            "inbound",
            _rows(
                session,
                update(InboundMessage)
                .where(InboundMessage.openid.in_(openids))
                .values(content=None, reply=None, media_id=None),
            ),
        )
    for state in session.scalars(select(ConversationState)):
        if isinstance(state.data, dict) and state.data.get("household_id") == h.id:
            session.delete(state)
            res.add("conversations", 1)
    return openids


def _clear_requests(
    session: Session, h: Household, res: PurgeResult, *, media_root: str | None
) -> list[VillagerRequest]:
    """3a. Its requests: their text, the conversation's replies, their photos and voice (files deleted inside the
    media folder only). Returns the requests (their numbers and ids name the pushes and answers that go next)."""
    reqs = list(session.scalars(select(VillagerRequest).where(VillagerRequest.household_id == h.id)))
    req_ids = [r.id for r in reqs]
    for r in reqs:
        r.text = PURGED_TEXT
    res.add("requests", len(reqs))
    if not req_ids:
        return reqs
    res.add(
        "request_replies",
        _rows(
            session, update(RequestReply).where(RequestReply.request_id.in_(req_ids)).values(text=PURGED_TEXT)
        ),
    )
    # 转办 (storage/station/): the cadre's note to the department and the department's reasons may name people
    res.add(
        "request_transfers",
        _rows(
            session,
            update(RequestTransfer)
            .where(RequestTransfer.request_id.in_(req_ids))
            .values(note=None, extension_reason=None, returned_reason=None),
        ),
    )
    for att in session.scalars(
        select(Attachment).where(Attachment.owner_type == "request", Attachment.owner_id.in_(req_ids))
    ):
        _delete_file(att.stored_path, media_root)
        att.media_id = att.pic_url = att.stored_path = None
        res.add("attachments", 1)
    return reqs


def _clear_request_pushes(
    session: Session,
    h: Household,
    req_ids: list[int],
    openids: list[str],
    pattern: re.Pattern[str] | None,
    res: PurgeResult,
) -> None:
    """3b. The pushes that carried its requests, their answers and its link notices, and every push to its
    accounts (inside digests too), and the whole-message pages behind them (/m/<token>): a link held by anyone
    must not keep showing what was removed. A digest's page stays for the other messages it carries, without
    the purged ones (``_purge_pushes`` rewrote its text)."""
    reply_ids = (
        list(session.scalars(select(RequestReply.id).where(RequestReply.request_id.in_(req_ids))))
        if req_ids
        else []
    )
    keys = [f"request:{i}:%" for i in req_ids] + [f"request-reassign:{i}:%" for i in req_ids]
    keys += [f"reply:{i}:%" for i in reply_ids]  # answers relayed to a villager, or to the cadre (offline)
    keys += [f"link:h{h.id}:%", f"unlink:h{h.id}:%"]  # the cadre's notices of links to it, and unlink notices
    keys += [f"card-crowded:h{h.id}:%"]  # the office told its card linked too many accounts
    # the office told one of its accounts refuses messages or cannot be reached (keyed by that account)
    keys += [f"{kind}:{openid}:%" for openid in openids for kind in ("refused", "unreachable")]
    push_filters = [OutboxMessage.idempotency_key.like(k) for k in keys]
    if openids:
        push_filters.append(OutboxMessage.openid.in_(openids))
    pushes = list(session.scalars(select(OutboxMessage).where(or_(*push_filters))))
    _purge_pushes(session, pushes, pattern, res)
    carriers = {m.id for m in pushes if (m.payload or {}).get("merged")}
    link_filters = [PushLink.outbox_id.in_([m.id for m in pushes if m.id not in carriers])]
    if req_ids:
        link_filters.append(PushLink.request_id.in_(req_ids))
    if openids:
        link_filters.append(PushLink.openid.in_(openids))
    res.add("push_links", _rows(session, delete(PushLink).where(or_(*link_filters))))


def _scrub_cadres_writing(
    session: Session, h: Household, pattern: re.Pattern[str] | None, res: PurgeResult
) -> None:
    """4. Names and phones of its people where cadres wrote them: diary entries that mention it, feedback on
    cards about it (the rest of their text stays; a name becomes 某户)."""
    diary_ids = select(DiaryMention.diary_id).where(DiaryMention.household_id == h.id)
    for e in session.scalars(select(DiaryEntry).where(DiaryEntry.id.in_(diary_ids))):
        new = _scrub(pattern, e.text)
        if new != e.text:
            e.text = new or ""
            res.add("diary_entries", 1)
    task_ids = select(TaskHousehold.task_id).where(TaskHousehold.household_id == h.id)
    for fb in session.scalars(
        select(Feedback)
        .join(TaskAssignment, TaskAssignment.id == Feedback.assignment_id)
        .where(TaskAssignment.task_id.in_(task_ids))
    ):
        new = _scrub(pattern, fb.text)
        if new != fb.text:
            fb.text = new or ""
            res.add("feedback", 1)


def _scrub_mediation(
    session: Session, h: Household, pattern: re.Pattern[str] | None, res: PurgeResult
) -> None:
    """4b. Names and phones of its people in the 矛盾调解 notes of disputes it is a party to (storage/disputes.py):
    the mediation steps and the outcome's note (it stays a party: the dispute still counts)."""
    disputes = select(DisputeParty.dispute_id).where(DisputeParty.household_id == h.id)
    for step in session.scalars(select(DisputeStep).where(DisputeStep.dispute_id.in_(disputes))):
        new = _scrub(pattern, step.text)
        if new != step.text:
            step.text = new or ""
            res.add("dispute_steps", 1)
    for d in session.scalars(select(Dispute).where(Dispute.id.in_(disputes))):
        new = _scrub(pattern, d.outcome_note)
        if new != d.outcome_note:
            d.outcome_note = new
            res.add("dispute_notes", 1)


def _scrub_cadres_messages(
    session: Session,
    h: Household,
    reqs: list[VillagerRequest],
    pattern: re.Pattern[str] | None,
    res: PurgeResult,
) -> None:
    """5. The chat messages of its cadres (linked, or who had its requests) that answered its requests
    (emptied whole: ``回复 N …`` is the answer itself) or named its people (scrubbed, with their replies)."""
    cadre_openids = list(
        session.scalars(
            select(WechatIdentity.openid).where(
                WechatIdentity.kind == "cadre",
                WechatIdentity.cadre_id.in_(
                    select(VillagerRequest.cadre_id)
                    .where(VillagerRequest.household_id == h.id)
                    .union(select(Link.cadre_id).where(Link.household_id == h.id))
                ),
            )
        )
    )
    if not cadre_openids:
        return
    answers = [re.compile(rf"^\s*(回复|答复|回覆|答覆)\s*[#＃]?\s*{r.number}(?!\d)") for r in reqs]
    for m in session.scalars(
        select(InboundMessage).where(
            InboundMessage.openid.in_(cadre_openids), InboundMessage.content.is_not(None)
        )
    ):
        text = unicodedata.normalize("NFKC", m.content or "")
        if any(a.match(text) for a in answers):
            m.content, m.reply = PURGED_TEXT, None
            res.add("cadre_messages", 1)
            continue
        new = _scrub(pattern, m.content)
        if new != m.content:
            m.content, m.reply = new, _scrub(pattern, m.reply)
            res.add("cadre_messages", 1)


def _own_text(m: OutboxMessage) -> str:
    """What this push itself said: a digest's carrier keeps its own message as ``original_text``."""
    payload = m.payload or {}
    return str(payload.get("original_text") if payload.get("merged") else payload.get("text") or "")


def _purge_pushes(
    session: Session, pushes: list[OutboxMessage], pattern: re.Pattern[str] | None, res: PurgeResult
) -> None:
    """Empty the purged pushes, and take their text out of every digest that carried them.

    A digest (reminders/channels.py ``merge``) is one push whose text joins several messages for one person — the
    cadre's pushes about several households, say — and whose page shows that text; the purged messages become
    PURGED_TEXT inside it and the others stay. Its own message may be the purged one too."""
    by_carrier: dict[int, list[str]] = {}
    for m in pushes:
        own = _own_text(m)
        if (m.payload or {}).get("merged"):
            by_carrier.setdefault(m.id, []).append(own)
        elif m.merged_into is not None:
            by_carrier.setdefault(int(m.merged_into), []).append(own)
    purged = {m.id for m in pushes}
    for m in pushes:
        if m.id in by_carrier:
            continue  # a carrier: rewritten below, its other messages kept
        m.payload = {**(m.payload or {}), "text": PURGED_TEXT, "template": None, "original_text": None}
        res.add("pushes", 1)
    for carrier_id, texts in by_carrier.items():
        carrier = session.get(OutboxMessage, carrier_id)
        if carrier is None:
            continue
        payload = dict(carrier.payload or {})
        payload["text"] = _without(str(payload.get("text") or ""), texts, pattern)
        if carrier_id in purged:
            payload["original_text"], payload["template"] = PURGED_TEXT, None
            if isinstance(payload.get("original"), dict):  # kept by channels.merge for unmerge
                payload["original"] = {**payload["original"], "text": PURGED_TEXT, "template": None}
        carrier.payload = payload
        res.add("digests", 1)
        for link in session.scalars(select(PushLink).where(PushLink.outbox_id == carrier_id)):
            link.text = _without(link.text, texts, pattern)
            res.add("digest_pages", 1)


def _without(text: str, removed: list[str], pattern: re.Pattern[str] | None) -> str:
    for t in sorted((t for t in removed if t), key=len, reverse=True):
        text = text.replace(t, PURGED_TEXT)
    return _scrub(pattern, text) or ""


def _delete_file(path: str | None, media_root: str | None) -> None:
    """Delete a stored media file, but only inside the media folder (a stored path is data, not trusted)."""
    if not path:
        return
    real = os.path.realpath(path)
    if media_root is not None:
        root = os.path.realpath(media_root)
        if not (real == root or real.startswith(root + os.sep)):
            return
    try:
        os.remove(real)
    except FileNotFoundError:
        pass
