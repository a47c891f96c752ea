"""``lianxin purge``: a household's personal data removed on request, counts kept, the purge audited.

The household is built through the real chat (the villager links the card, writes a request naming a
phone; the cadre writes a diary naming the household, answers the request) and the office's form, so the
test finds personal data wherever the product actually puts it.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select, text

from bot.cli import CliState, main
from storage.assessment import build_report
from storage.ledger import build_ledger
from storage.models import (
    Attachment,
    AuditLog,
    DiaryEntry,
    DiaryMention,
    Household,
    HouseholdInfoHistory,
    OutboxMessage,
    RequestReply,
    VillagerRequest,
    WechatIdentity,
)
from storage.outbox import enqueue
from storage.purge import PURGED_NAME, PurgeError, find_household, purge_household
from storage.push_links import create_link, find_link
from tests.support.chat_env import Chat, make_chat

CADRE_PHONE = "13900001111"
HEAD, HEAD_PHONE, MEMBER = "张大山", "13812345678", "张小花"
OTHER = "刘婶"


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 20:00")
    c = make_chat(make_lx, clock)
    with c.factory() as f:
        cadre = f.cadre(name="李明", phone=CADRE_PHONE)
        h = f.household(
            cadre, head_name=HEAD, card="20261124", head_phone=HEAD_PHONE, address="新桥村一组 8 号"
        )
        h.members = [{"name": MEMBER, "relation": "女儿", "age": 12}]
        h.annual_income = Decimal("23000.50")
        h.income_sources = "务工、养猪"
        h.difficulties = "老人慢性病"
        f.s.add(
            HouseholdInfoHistory(
                household_id=h.id,
                changed_by="import",
                field="head_phone",
                old_value=None,
                new_value=HEAD_PHONE,
            )
        )
        f.household(cadre, head_name=OTHER, card="20261125", head_phone="13899990000")
    assert "绑定成功" in c.wc.text("o-li", f"绑定 {c.code(CADRE_PHONE)}")
    assert "绑定成功" in c.wc.text("o-zhang", "20261124")
    assert "绑定成功" in c.wc.text("o-liu", "20261125")
    c.wc.text("o-zhang", f"我家水管冻裂了，请回电 {HEAD_PHONE}，我女儿{MEMBER}在家")
    c.wc.image("o-zhang", media_id="img-zhang")
    c.wc.text("o-liu", "路灯坏了")  # (the photo above is its own request: 3 requests in all)
    c.wc.text("o-li", f"走访{HEAD}家，{MEMBER}上学问题已了解；又去了{OTHER}家")
    num = c.one(select(VillagerRequest.number).where(VillagerRequest.text.like("%水管%")))
    c.wc.text("o-li", f"回复 {num} 明天上午带师傅来修")
    return c


def run(lx: Any, *args: str, input: str | None = None) -> Any:
    state = CliState()
    state._lx = lx
    return CliRunner().invoke(main, list(args), obj=state, input=input, catch_exceptions=False)


def dump(lx: Any, *skip: str) -> str:
    """Every row of every table as text: where personal data could hide."""
    out = []
    with lx.engine.connect() as conn:
        for name in inspect(lx.engine).get_table_names():
            if name in skip:
                continue
            for row in conn.execute(text(f'SELECT * FROM "{name}"')):
                out.append(f"{name}: {tuple(row)}")
    return "\n".join(out)


def counts(lx: Any) -> tuple[Any, Any]:
    with lx.session() as s:
        rep = build_report(s, lx.config, "month", "2026-11", now=lx.now()).to_dict()
        led = build_ledger(s, today=lx.now().astimezone(lx.config.tz).date())
    cadres = [
        {
            k: r[k]
            for k in (
                "households",
                "diary_days",
                "diary_entries",
                "requests_received",
                "requests_answered",
                "requests_answered_in_sla",
            )
        }
        for r in rep["cadres"]
    ]
    return cadres, led["totals"]["households"]


def test_purge_removes_personal_data_everywhere_and_keeps_counts(chat: Chat, tmp_path: Path) -> None:
    lx = chat.lx
    # the photo was downloaded into the media folder
    media = Path(lx.config.general.media_dir)
    media.mkdir(parents=True, exist_ok=True)
    photo = media / "attachment-zhang.jpg"
    photo.write_bytes(b"\xff\xd8fake")
    with lx.session() as s:
        att = s.scalar(select(Attachment).where(Attachment.media_id == "img-zhang"))
        assert att is not None, "the photo is attached to the request"
        att.stored_path = str(photo)
    outside = tmp_path / "not-media.txt"
    outside.write_text("keep")
    with lx.session() as s:  # the request went to the cadre as a template: its whole-message page exists
        req = s.scalar(select(VillagerRequest).where(VillagerRequest.text.contains("水管")))
        token = create_link(
            s,
            outbox_id=None,
            openid="o-li",
            kind="request",
            now=lx.now(),
            days=30,
            payload={"text": req.text, "template": {"number": str(req.number)}},
        )
    before_dump = dump(lx)
    assert HEAD in before_dump and HEAD_PHONE in before_dump and MEMBER in before_dump
    before = counts(lx)

    r = run(lx, "purge", "--card", "20261124", "--reason", "本人书面申请", "--yes")
    assert r.exit_code == 0, r.output
    assert "已清除" in r.output

    after_dump = dump(lx, "alembic_version")
    for secret in (
        HEAD,
        HEAD_PHONE,
        MEMBER,
        "水管",
        "新桥村一组 8 号",
        "23000",
        "务工",
        "慢性病",
        "img-zhang",
    ):
        assert secret not in after_dump, f"{secret!r} still stored:\n" + "\n".join(
            line for line in after_dump.splitlines() if secret in line
        )
    assert not photo.exists() and outside.exists()
    with lx.session() as s:
        assert find_link(s, token, lx.now()) is None, "the link's page went with the request"
    # the other household is untouched
    assert OTHER in after_dump and "路灯坏了" in after_dump and "13899990000" in after_dump
    # the cadre's diary keeps its words, the name is replaced
    diary = chat.one(select(DiaryEntry.text))
    assert "某户" in diary and "上学问题已了解" in diary and OTHER in diary
    # the report's counts are the same (requests, answers, diary days); the 五个一 ledger no longer lists the
    # household as owed duties (storage.ledger leaves purged households out), and nothing else moves
    report, ledger_households = counts(lx)
    assert report == before[0]
    assert ledger_households == before[1] - 1
    assert (
        chat.count(DiaryMention) >= 1 and chat.count(VillagerRequest) == 3 and chat.count(RequestReply) >= 1
    )
    with lx.session() as s:
        h = s.scalar(select(Household).where(Household.head_name == PURGED_NAME))
        assert h is not None and h.purged_at == lx.now() and h.population == 4 and h.link is not None
        assert h.head_phone is None and h.members is None and h.annual_income is None
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == "o-zhang"))
        assert ident.kind == "unknown" and ident.household_id is None
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "household.purge"))
        assert audit.actor == "cli" and audit.target == f"household:{h.id}"
        assert audit.detail["reason"] == "本人书面申请" and "head_name" in audit.detail["fields"]
        assert audit.detail["requests"] == 2 and audit.detail["attachments"] == 1


def test_purged_villager_is_no_longer_linked(chat: Chat) -> None:
    run(chat.lx, "purge", "--phone", HEAD_PHONE, "--yes")
    n = chat.count(VillagerRequest)
    reply = chat.wc.text("o-zhang", "还在吗")
    assert chat.count(VillagerRequest) == n  # no request filed for a purged household
    assert reply and "张" not in reply


def test_second_purge_changes_nothing(chat: Chat) -> None:
    assert run(chat.lx, "purge", "--card", "20261124", "--yes").exit_code == 0
    first = dump(chat.lx)
    r = run(chat.lx, "purge", "--card", "20261124", "--yes")
    assert r.exit_code == 0 and "already purged" in r.output
    assert dump(chat.lx) == first
    assert chat.count(AuditLog, AuditLog.action == "household.purge") == 1


def test_confirmation_declined_changes_nothing(chat: Chat) -> None:
    before = dump(chat.lx)
    r = run(chat.lx, "purge", "--card", "20261124", input="n\n")
    assert r.exit_code != 0
    assert dump(chat.lx) == before


@pytest.mark.parametrize(
    "args,message",
    [
        (["--card", "00000000"], "no household with card"),
        (["--household", "999999"], "no household 999999"),
        (["--phone", "13000000000"], "no household with phone"),
        ([], "exactly one"),
        (["--card", "20261124", "--household", "1"], "exactly one"),
    ],
)
def test_bad_target_is_refused_and_changes_nothing(chat: Chat, args: list[str], message: str) -> None:
    before = dump(chat.lx)
    r = run(chat.lx, "purge", *args, "--yes")
    assert r.exit_code == 1 and message in r.output
    assert dump(chat.lx) == before


def test_same_phone_for_two_households_is_ambiguous(chat: Chat) -> None:
    with chat.lx.session() as s:
        s.execute(text("UPDATE household SET head_phone = :p"), {"p": HEAD_PHONE})
        with pytest.raises(PurgeError, match="several households"):
            find_household(s, phone=HEAD_PHONE)


def test_purge_function_by_id_keeps_the_card_and_link(chat: Chat) -> None:
    with chat.lx.session() as s:
        h = find_household(s, card="20261124")
        res = purge_household(s, h, actor="console:admin", now=chat.lx.now(), reason="test")
        assert not res.already and res.counts["requests"] == 2
        assert h.card is not None and h.card.number == "20261124"
        again = purge_household(s, h, actor="console:admin", now=chat.lx.now())
        assert again.already and again.counts == {}


def test_purge_takes_the_household_out_of_the_offices_notices_about_its_accounts(chat: Chat) -> None:
    """The office is told when one of the household's accounts refuses messages or cannot be reached, and when
    its card links too many accounts: those notices name the household too."""
    with chat.lx.session() as s:
        h = find_household(s, card="20261124")
        for key in (
            "refused:o-zhang:2026-11-24:o-office",
            "unreachable:o-zhang:o-office",
            f"card-crowded:h{h.id}:2026-11-24:o-office",
        ):
            enqueue(s, openid="o-office", kind="notice", text=f"【用户拒收消息】{HEAD} 户（新桥村）", key=key)
        enqueue(
            s,
            openid="o-office",
            kind="notice",
            text=f"【用户拒收消息】{OTHER} 户",
            key="refused:o-liu:2026-11-24:o-office",
        )
    with chat.lx.session() as s:
        purge_household(s, find_household(s, card="20261124"), actor="cli", now=chat.lx.now())
    with chat.lx.session() as s:
        notices = {
            m.idempotency_key: m.payload["text"]
            for m in s.scalars(select(OutboxMessage).where(OutboxMessage.openid == "o-office"))
        }
    assert all(HEAD not in text for text in notices.values()), notices
    assert OTHER in notices["refused:o-liu:2026-11-24:o-office"]  # another household's notice is untouched
