"""No push carries a card number or any other credential (issue 21 item 2): a push is forwarded, shown on a lock
screen and printed whole on its page under public_url, so a card number in it links a stranger without a single
wrong guess. A day of everything that pushes — binding and a takeover, links by number and by scan, requests,
answers, unlinking, guessing pauses, a card to all, offline requests, a move to another cadre, leave, and every
scheduled job — is run, and every push's text and template values are scanned for an 8/9-digit run."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from handlers import leave as chat_leave
from handlers import link_notices, task_notices
from reminders import jobs
from storage import cards, offline
from storage import leave as leave_svc
from storage.models import Cadre, Household, Link, OutboxMessage, ServiceCard
from storage.redact import number_runs
from storage.targets import Target
from tests.support.chat_env import Chat, make_chat

CARD_LIKE = re.compile(r"(?<!\d)\d{8,9}(?!\d)")
PHONE = "13900001111"
ROOT = Path(__file__).parent.parent
TEMPLATE_DIRS = [
    ROOT / "handlers" / "templates",
    ROOT / "reminders" / "templates",
    ROOT / "console/templates/push",
]
# Replies (never pushed) that show a card number to the person who may see it: the cadre's own 农户 list and the
# start of their 登记 form. Every other template — every push's above all — shows none.
REPLIES_WITH_CARD_NUMBERS = {"households.txt.j2", "ledger_form_start.txt.j2"}


def _day_of_pushes(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 09:00")
    chat = make_chat(
        make_lx,
        clock,
        **{"scheduler.office_openids": ["o-office"], "general.card_guesses_per_hour": 3},
    )
    with chat.factory() as f:
        li = f.cadre(name="李明", phone=PHONE, post="村支书")
        wang = f.cadre(name="王强", phone="13900002222", post="村主任")
        f.household(li, head_name="张大爷", card="20261124")
        f.household(li, head_name="刘婶", card="202611250")  # a nine-digit card too
        f.household(wang, head_name="赵叔", card="20261188")
    wc = chat.wc
    wc.text("o-li-old", f"绑定 {chat.code(PHONE)}")
    wc.text("o-li", f"绑定 {chat.code(PHONE)}")  # a takeover: the released account and the office are told
    wc.text("o-wang", f"绑定 {chat.code('13900002222')}")
    wc.text("o-zhang", "20261124")  # link by number: the cadre's notice
    with chat.lx.session() as s:
        card = s.scalar(select(ServiceCard).where(ServiceCard.number == "202611250"))
        card.qr_scene = scene = cards.new_scene()
    wc.event("o-liu", "SCAN", key=scene)  # link by scan
    wc.text("o-zhang-son", "20261124")
    wc.text("o-zhang", "我家的水管坏了，卡号是我家的，麻烦来看看")  # a request: pushed to the cadre
    # a villager who types their own card number, as people write it: it is starred out of every push
    wc.text("o-zhang", "我家卡号 2026 1124，就是２０２６１１２４，电话13912345678，请回电")
    wc.text("o-li", "回复 1 明天上午去看")  # the answer: pushed to the villager
    wc.text("o-zhang", "不满意")  # reopened: pushed to the cadre
    wc.text("o-li", "解绑 张大爷 2")  # unlinked: the account is told
    for i in range(4):  # guessing: the office is told of the pause
        wc.text(f"o-guess-{i}", f"5{i:06d}1")
    with chat.lx.session() as s:
        task_notices.create_task(
            s,
            title="冬季防火入户宣传",
            body="逐户宣传防火知识",
            deadline=clock() + timedelta(hours=20),
            targets=[Target.all()],
            actor="test",
            now=clock(),
            tz=chat.lx.config.tz,
        )
        zhang = s.scalar(select(Household).where(Household.head_name == "张大爷"))
        offline.add_offline_request(
            s,
            household=zhang,
            text="电话反映：路灯不亮（卡号20261124）",
            channel="phone",
            at=clock(),
            actor="cli",
            now=clock(),
            words=chat.lx.wording().requests,
            config=chat.lx.config,
        )
        # a move to another cadre: the household's accounts are told the new cadre
        link = s.scalar(select(Link).where(Link.household_id == zhang.id))
        link.cadre_id = s.scalar(select(Cadre.id).where(Cadre.phone == "13900002222"))
        s.flush()
        link_notices.tell_villagers(s, [zhang.id], tz=chat.lx.config.tz)
        li = s.scalar(select(Cadre).where(Cadre.phone == PHONE))
        lv, _ = leave_svc.request_leave(
            s, cadre=li, start=date(2026, 11, 26), end=date(2026, 11, 26), reason="看病", now=clock()
        )
        chat_leave.decide(s, lv, approve=True, actor="cli", now=clock(), tz=chat.lx.config.tz)
    for name, at in [
        ("deadline_reminders", "2026-11-24 10:05"),
        ("diary_reminders", "2026-11-24 19:30"),
        ("villager_sla", "2026-11-26 16:00"),
        ("deadline_reminders", "2026-11-25 07:05"),
        ("month_end_reminders", "2026-11-28 10:00"),
        ("monthly_circular", "2026-12-01 08:00"),
    ]:
        jobs.run(chat.lx, name, clock.set(at))
    return chat


def test_no_push_of_a_whole_day_carries_a_card_number(make_lx: Any, clock: Any) -> None:
    chat = _day_of_pushes(make_lx, clock)
    pushes = chat.all(select(OutboxMessage).order_by(OutboxMessage.id))
    kinds = {m.kind for m in pushes}
    assert {"notice", "request", "reply", "task", "reminder"} <= kinds and len(pushes) >= 20
    numbers = set(chat.all(select(ServiceCard.number)))
    for m in pushes:
        shown = [m.payload.get("text") or ""] + [str(v) for v in (m.payload.get("template") or {}).values()]
        for text in shown:
            assert CARD_LIKE.search(text) is None, f"{m.idempotency_key}: {text}"
            assert not any(n in text for n in numbers), f"{m.idempotency_key}: {text}"
            typed = {digits for _s, _e, digits in number_runs(text)}
            assert not typed & numbers, f"{m.idempotency_key}: {text}"
    # what the villager wrote still reaches the cadre, only the card number starred
    typed_in = [m for m in pushes if "请回电" in (m.payload.get("text") or "")]
    assert (
        typed_in
        and "13912345678" in typed_in[0].payload["text"]
        and "********" in typed_in[0].payload["text"]
    )


def test_no_push_template_can_print_a_card_number() -> None:
    """Static: no wording template under handlers/ or reminders/, nor the console's push wording and push page,
    reads a card's number, except two replies to the cadre's own requests (never pushed)."""
    reading = re.compile(r"card\.number|card_number|\bcard\b\s*}}|\.card\.")
    offenders = [
        p.name
        for d in TEMPLATE_DIRS
        for p in sorted(d.glob("*"))
        if reading.search(p.read_text(encoding="utf-8")) and p.name not in REPLIES_WITH_CARD_NUMBERS
    ]
    assert offenders == []
