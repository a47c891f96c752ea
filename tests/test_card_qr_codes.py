"""Service cards' QR codes: made by the account through ``qrcode/create`` (the fake WeChat API), kept, printed
from the url WeChat issued, and scanning them (subscribe / SCAN with the card's token) links the household.
Without credentials, or while the account may not make codes (48001), cards print without a QR code and say why;
a later print adds the codes; the account's 100,000 limit is respected."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from console.documents import card_codes
from console.documents import printing as docs
from storage import cards
from storage.models import AuditLog, ServiceCard, WechatIdentity
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import Chat, make_chat
from tests.support.cli import run_cli

PHONE = "13900001111"


@pytest.fixture
def fake() -> Iterator[FakeWechat]:
    with FakeWechat() as f:
        yield f


@pytest.fixture
def chat(make_lx: Any, clock: Any, fake: FakeWechat) -> Chat:
    clock.set("2026-11-24 20:00")
    c = make_chat(make_lx, clock, **{"wechat.api_base": fake.url})
    with c.factory() as f:
        cadre = f.cadre(name="李明", phone=PHONE, post="村支书", village=f.village("新桥村"))
        f.household(cadre, head_name="张大爷", card="20261124", village=f.village("新桥村"))
        f.household(cadre, head_name="王奶奶", card="20261125", village=f.village("新桥村"))
    return c


def qr_urls(chat: Chat) -> dict[str, str | None]:
    with chat.lx.session() as s:
        return {c.number: c.qr_url for c in s.scalars(select(ServiceCard))}


def test_cards_command_makes_permanent_string_scene_codes_and_prints_their_urls(
    chat: Chat, fake: FakeWechat, tmp_path: Any
) -> None:
    out = tmp_path / "cards.html"
    result = run_cli(chat.lx, "cards", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "二维码 2/2" in result.output and "新建二维码 2 个" in result.output
    html = out.read_text(encoding="utf-8")
    assert "lianxin-card:" not in html
    with chat.lx.session() as s:
        for card in s.scalars(select(ServiceCard)):
            # a random token, not the number; kept with WeChat's ticket and url
            assert card.qr_scene and card.number not in card.qr_scene and 1 <= len(card.qr_scene) <= 64
            assert card.qr_ticket and card.qr_created_at is not None
            assert fake.qr_scene_for_url(card.qr_url) == card.qr_scene  # the url the account issued
            assert docs.qr_svg(card.qr_url) in html  # the printed code is drawn from exactly that url
        rows = docs.card_rows(s)
    assert sorted(r.qr_data for r in rows) == sorted(fake.qr_codes[sc]["url"] for sc in fake.qr_codes)
    assert [a for a in chat.all(select(AuditLog.action))][:2] == ["cards.qr_create", "cards.print"]


def test_a_reprinted_card_keeps_its_code(chat: Chat, fake: FakeWechat, tmp_path: Any) -> None:
    assert run_cli(chat.lx, "cards", "--out", str(tmp_path / "a.html")).exit_code == 0
    first = qr_urls(chat)
    asked = fake.qr_requests
    result = run_cli(chat.lx, "cards", "--out", str(tmp_path / "b.html"))
    assert result.exit_code == 0 and "新建二维码" not in result.output
    assert qr_urls(chat) == first and fake.qr_requests == asked


@pytest.mark.parametrize("event,prefix", [("subscribe", "qrscene_"), ("SCAN", "")])
def test_scanning_the_printed_code_links_the_household(
    chat: Chat, fake: FakeWechat, tmp_path: Any, event: str, prefix: str
) -> None:
    assert run_cli(chat.lx, "cards", "--out", str(tmp_path / "c.html")).exit_code == 0
    url = qr_urls(chat)["20261124"]
    scene = fake.qr_scene_for_url(url)  # what WeChat puts in the event when someone scans that code
    assert scene is not None
    reply = chat.wc.event("o-zhang", event, key=prefix + scene)
    assert "绑定成功" in reply and "张大爷" in reply
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-zhang"))
    assert ident.kind == "villager" and ident.bound_via == "qr"


def test_transient_failures_are_retried(chat: Chat, fake: FakeWechat, tmp_path: Any) -> None:
    fake.fail("qrcode", 500)
    fake.fail("qrcode", -1)
    with chat.lx.session() as s:
        ids = list(s.scalars(select(ServiceCard.id)))
    run = card_codes.ensure_codes(chat.lx, ids, sleep=lambda _: None)
    assert run.created == 2 and all(qr_urls(chat).values())
    assert len(fake.qr_codes) == 2  # the retry asked for the same scene: no orphan code


def test_cards_print_without_codes_while_the_account_cannot_make_them_and_a_later_print_adds_them(
    chat: Chat, fake: FakeWechat, tmp_path: Any
) -> None:
    """48001 while 微信认证 is pending or lapsed: the print goes ahead without the codes and says why; once the
    account may make codes again, the next print adds them."""
    fake.qr_permission = False
    out = tmp_path / "d.html"
    result = run_cli(chat.lx, "cards", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "48001" in result.output and "认证的服务号" in result.output and "重新打印" in result.output
    html = out.read_text(encoding="utf-8")
    assert "<svg" not in html and "（无二维码）" not in html and 'class="qr"' not in html
    assert "48001" in html and "发送卡号 20261124" in html
    assert not any(qr_urls(chat).values())
    fake.qr_permission = True  # 微信认证 done
    result = run_cli(chat.lx, "cards", "--out", str(tmp_path / "d2.html"))
    assert result.exit_code == 0 and "新建二维码 2 个" in result.output
    assert (
        all(qr_urls(chat).values()) and (tmp_path / "d2.html").read_text(encoding="utf-8").count("<svg") == 2
    )


def test_a_print_cut_short_by_the_account_keeps_the_codes_already_made(
    chat: Chat, fake: FakeWechat, tmp_path: Any
) -> None:
    fake.qr_limit = 1  # the account's limit reached after one code (40053)
    out = tmp_path / "d3.html"
    result = run_cli(chat.lx, "cards", "--out", str(out))
    assert result.exit_code == 0 and "40053" in result.output and "1 张服务卡" in result.output
    assert sorted(bool(u) for u in qr_urls(chat).values()) == [False, True]
    assert out.read_text(encoding="utf-8").count("<svg") == 1


def test_the_account_limit_is_refused_before_it_is_passed(chat: Chat, fake: FakeWechat) -> None:
    with chat.lx.session() as s:
        ids = list(s.scalars(select(ServiceCard.id)))
    with pytest.raises(card_codes.QrError, match="将超出上限"):
        card_codes.ensure_codes(chat.lx, ids, limit=1)
    assert fake.qr_requests == 0 and not any(qr_urls(chat).values())


def test_the_fake_refuses_past_its_limit_with_40053(chat: Chat, fake: FakeWechat) -> None:
    fake.qr_limit = 1
    with chat.lx.session() as s:
        ids = list(s.scalars(select(ServiceCard.id).order_by(ServiceCard.id)))
    with pytest.raises(card_codes.QrError, match="40053"):
        card_codes.ensure_codes(chat.lx, ids)
    assert sum(1 for u in qr_urls(chat).values() if u) == 1  # what was made before stays


def test_without_credentials_cards_print_without_qr_and_say_so(
    make_lx: Any, clock: Any, tmp_path: Any
) -> None:
    c = make_chat(
        make_lx,
        clock,
        **{"wechat.app_id": "", "wechat.app_secret": "", "wechat.api_base": "http://127.0.0.1:9"},
    )
    with c.factory() as f:
        f.household(f.cadre(phone=PHONE), head_name="张大爷", card="20261124")
    out = tmp_path / "e.html"
    result = run_cli(c.lx, "cards", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "未配置微信 app_id" in result.output
    html = out.read_text(encoding="utf-8")
    assert "<svg" not in html and "未配置微信 app_id" in html
    # no empty box where the code would be: the card tells the villager to send its number
    assert "（无二维码）" not in html and 'class="qr"' not in html and "发送卡号 20261124" in html


def test_the_fake_follows_the_documented_shape(fake: FakeWechat) -> None:
    import requests

    token = requests.post(
        fake.url + "/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": fake.app_id, "secret": fake.secret},
        timeout=5,
    ).json()["access_token"]
    create = fake.url + "/cgi-bin/qrcode/create?access_token=" + token

    def ask(body: dict[str, Any]) -> dict[str, Any]:
        return requests.post(create, json=body, timeout=5).json()

    ok = ask({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 64}}})
    assert set(ok) == {"ticket", "url"}
    assert (
        ask({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 65}}})[
            "errcode"
        ]
        == 40053
    )
    assert (
        ask({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": ""}}})["errcode"]
        == 40053
    )
    again = ask({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 64}}})
    assert again == ok
    shown = requests.get(fake.url + "/cgi-bin/showqrcode", params={"ticket": ok["ticket"]}, timeout=5)
    assert shown.status_code == 200 and shown.content.startswith(b"\x89PNG")
    assert (
        requests.get(fake.url + "/cgi-bin/showqrcode", params={"ticket": "nope"}, timeout=5).status_code
        == 404
    )
    assert (
        requests.post(fake.url + "/cgi-bin/qrcode/create?access_token=bad", json={}, timeout=5).json()[
            "errcode"
        ]
        == 40001
    )


def scenes(chat: Chat) -> dict[str, str | None]:
    with chat.lx.session() as s:
        return {c.number: c.qr_scene for c in s.scalars(select(ServiceCard))}


def test_renumber_reissues_random_numbers_and_retires_the_old_codes(
    chat: Chat, fake: FakeWechat, tmp_path: Any
) -> None:
    assert run_cli(chat.lx, "cards", "--out", str(tmp_path / "f.html")).exit_code == 0
    old_scene = scenes(chat)["20261124"]
    assert old_scene
    result = run_cli(chat.lx, "cards", "--renumber", "--village", "新桥村", "--out", str(tmp_path / "g.html"))
    assert result.exit_code == 0, result.output
    assert "已换发 2 个新卡号" in result.output and "新建二维码 2 个" in result.output
    after = scenes(chat)
    assert "20261124" not in after and old_scene not in after.values() and all(after.values())
    assert all(len(n) == 8 and cards.number_checks(n) for n in after)
    assert "cards.renumber" in chat.all(select(AuditLog.action))
    assert "没有找到" in chat.wc.text("o-old", "20261124")  # the old number no longer links
    # nor does a photo of the old card's QR code
    assert "绑定成功" not in (chat.wc.event("o-photo", "SCAN", key=old_scene) or "")
    assert chat.all(select(WechatIdentity.openid).where(WechatIdentity.kind == "villager")) == []
    new = next(iter(after))
    assert "绑定成功" in chat.wc.text("o-new", new)
    assert "绑定成功" in (chat.wc.event("o-scan", "SCAN", key=after[new]) or "")
    with chat.lx.session() as s:  # WeChat never gives a permanent code back: all four count
        assert cards.qr_codes_created(s) == 4
