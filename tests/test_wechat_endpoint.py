"""The /wechat edge, end to end through HTTP: URL check, plain and safe mode, and a table of bad inputs
that must each be refused or answered without changing anything."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.render import render
from storage.accounts import issue_bind_code
from storage.models import (
    Attachment,
    AuditLog,
    BindCode,
    DiaryEntry,
    InboundMessage,
    MonthlySummary,
    OutboxMessage,
    RequestReply,
    VillagerRequest,
    WechatEdgeFault,
    WechatIdentity,
)
from tests.support.factories import Factory
from tests.support.wechat_client import TEST_TOKEN, WechatClient, wechat_app, wechat_signature, xml

AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
# A stranger's 帮助 is answered with the welcome: its first line, as the product words it, marks that reply in a
# raw response body (whatever the wording, the test asks whether the reply came back, and how).
WELCOME = render("welcome").splitlines()[0]
DOMAIN_TABLES = (
    DiaryEntry,
    MonthlySummary,
    VillagerRequest,
    RequestReply,
    OutboxMessage,
    Attachment,
    BindCode,
    AuditLog,
)


def counts(lx: Any) -> dict[str, Any]:
    with lx.session() as s:
        out: dict[str, Any] = {
            t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in DOMAIN_TABLES
        }
        out["identities"] = sorted(
            (i.openid, i.kind, i.cadre_id, i.household_id, i.subscribed)
            for i in s.scalars(select(WechatIdentity))
        )
        out["used_codes"] = s.scalar(
            select(func.count()).select_from(BindCode).where(BindCode.used_at.is_not(None))
        )
    return out


def inbound_count(lx: Any) -> int:
    with lx.session() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage)) or 0


@pytest.fixture(params=["plain", "safe"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def env(make_lx: Any, clock: Any, mode: str) -> Any:
    lx = make_lx(**({"wechat.encoding_aes_key": AES_KEY} if mode == "safe" else {}))
    app = wechat_app(lx)
    wc = WechatClient(app.test_client(), TEST_TOKEN, clock, aes_key=AES_KEY if mode == "safe" else "")
    return lx, app, wc


def setup_people(lx: Any, clock: Any) -> dict[str, Any]:
    with lx.session() as s:
        f = Factory(s)
        cadre = f.cadre(name="李明", phone="13900001111", post="村支书")
        hh = f.household(cadre, head_name="张大爷", card="20261124")
        code, _, _ = issue_bind_code(s, phone="13900001111", actor="test", now=clock(), configured_secret="")
        return {"cadre_id": cadre.id, "household_id": hh.id, "code": code}


def test_url_check_echoes_only_with_a_good_signature(env: Any, clock: Any) -> None:
    lx, app, wc = env
    c = app.test_client()
    q = wc.query()
    r = c.get("/wechat", query_string={**q, "echostr": "hello123"})
    assert r.status_code == 200 and r.get_data(as_text=True) == "hello123"
    r = c.get("/wechat", query_string={**q, "signature": "0" * 40, "echostr": "hello123"})
    assert r.status_code == 403 and "hello123" not in r.get_data(as_text=True)
    old = wc.query(timestamp=wc.ts() - 3600)
    assert c.get("/wechat", query_string={**old, "echostr": "x"}).status_code == 403


def test_answers_of_the_route_carry_the_headers_every_page_has(env: Any) -> None:
    """/wechat is answered in front of Flask (bot/wechat/endpoint.WechatFirst), so without the console's
    after-request hook: its answers still forbid framing and sniffing and stay out of shared caches."""
    lx, app, wc = env
    c = app.test_client()
    for r in (
        c.get("/wechat", query_string={**wc.query(), "echostr": "hello123"}),
        c.get("/wechat", query_string={**wc.query(), "signature": "0" * 40}),
        c.post("/wechat", query_string=wc.query(), data=b"<xml>", content_type="text/xml"),
    ):
        assert r.headers["X-Content-Type-Options"] == "nosniff", r.status_code
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["Cache-Control"] == "private"
    assert c.put("/wechat", query_string=wc.query()).status_code == 405  # Flask's answer for other methods


def test_cadre_and_villager_round_trip(env: Any, clock: Any, mode: str, renders: Any) -> None:
    lx, app, wc = env
    clock.set("2026-11-24 20:00")
    p = setup_people(lx, clock)
    assert renders.behind(wc.text("o-cadre", f"绑定 {p['code']}")).name == "bind_ok"
    diary = renders.behind(wc.text("o-cadre", "走访张大爷家，了解烤烟收购情况"))
    assert (diary.name, diary["day"], diary["n"]) == ("diary_saved", datetime(2026, 11, 24).date(), 1)
    reply = wc.text("o-villager", "2026 1124")
    assert "李明" in reply and "13900001111" in reply and "村支书" in reply
    reply = wc.text("o-villager", "我家水管坏了，能帮忙看看吗")
    received = renders.behind(reply)
    assert (received.name, received["request"].number) == ("request_received", 1) and "13900001111" in reply
    with lx.session() as s:
        push = s.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key.like("request:%")))
        assert push is not None and push.openid == "o-cadre" and "水管" in push.payload["text"]
    assert renders.behind(wc.text("o-cadre", "回复 1 明天上午去看"))["request"].number == 1
    with lx.session() as s:
        relay = s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
        assert relay.openid == "o-villager" and "明天上午去看" in relay.payload["text"]


def test_safe_mode_reply_is_encrypted(make_lx: Any, clock: Any) -> None:
    lx = make_lx(**{"wechat.encoding_aes_key": AES_KEY})
    app = wechat_app(lx)
    wc = WechatClient(app.test_client(), TEST_TOKEN, clock, aes_key=AES_KEY)
    wc.text("o-someone", "帮助")
    body = wc.last.get_data(as_text=True)
    assert "<Encrypt>" in body and WELCOME not in body and "帮助" not in body
    assert WELCOME in wc.reply_text(wc.last)


def transports(lx: Any) -> list[str | None]:
    with lx.session() as s:
        return list(s.scalars(select(InboundMessage.transport).order_by(InboundMessage.id)))


def edge_faults(lx: Any) -> dict[str, int]:
    with lx.session() as s:
        return {f.kind: f.count for f in s.scalars(select(WechatEdgeFault))}


def test_with_a_key_set_plain_messages_are_answered_in_plain_and_encrypted_ones_encrypted(
    make_lx: Any, clock: Any
) -> None:
    """兼容模式 (WeChat's FAQ on message encryption: no encrypt_type, or raw = a plain body, answered in plain): a key
    set before the account leaves plain mode loses no message; each message is recorded with how it came."""
    lx = make_lx(**{"wechat.encoding_aes_key": AES_KEY})
    app = wechat_app(lx)
    plain = WechatClient(app.test_client(), TEST_TOKEN, clock)  # the account still in 明文模式
    assert WELCOME in plain.text("o-someone", "帮助")
    body = plain.last.get_data(as_text=True)
    assert "<Encrypt>" not in body and WELCOME in body
    raw = plain.query()
    r = app.test_client().post(
        "/wechat",
        query_string={**raw, "encrypt_type": "raw"},
        data=xml("o-someone", "text", create_time=plain.ts(), msg_id=77, Content="帮助"),
    )
    assert r.status_code == 200 and WELCOME in r.get_data(as_text=True)
    safe = WechatClient(app.test_client(), TEST_TOKEN, clock, aes_key=AES_KEY)  # switched to 安全模式
    assert WELCOME in safe.text("o-someone", "帮助")
    assert "<Encrypt>" in safe.last.get_data(as_text=True)
    assert transports(lx) == ["plain", "plain", "aes"]
    assert edge_faults(lx) == {}


def test_without_a_key_a_compatible_mode_message_is_read_in_plain(make_lx: Any, clock: Any) -> None:
    """兼容模式 sends the plain fields beside the Encrypt element (encryption doc: "同时包括明文和密文")."""
    from wechatpy.crypto import WeChatCrypto

    lx = make_lx()
    app = wechat_app(lx)
    wc = WechatClient(app.test_client(), TEST_TOKEN, clock)
    q = wc.query()
    inner = xml("o-someone", "text", create_time=wc.ts(), msg_id=88, Content="帮助")
    enc = WeChatCrypto(TEST_TOKEN, AES_KEY, "wxtestappid").encrypt_message(inner, q["nonce"], q["timestamp"])
    encrypt = enc.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    both = inner.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    msig = wechat_signature(TEST_TOKEN, q["timestamp"], q["nonce"], encrypt)
    r = app.test_client().post(
        "/wechat", query_string={**q, "encrypt_type": "aes", "msg_signature": msig}, data=both
    )
    assert r.status_code == 200 and WELCOME in r.get_data(as_text=True)
    assert transports(lx) == ["compat"]


def test_a_mistyped_key_in_compatible_mode_loses_nothing_and_is_counted(make_lx: Any, clock: Any) -> None:
    """兼容模式 carries the plain fields beside Encrypt: a key that does not open Encrypt is reported by `wechat
    check`, and the message is read from its plain fields rather than refused."""
    from wechatpy.crypto import WeChatCrypto

    other_key = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")
    lx = make_lx(**{"wechat.encoding_aes_key": other_key})
    app = wechat_app(lx)
    wc = WechatClient(app.test_client(), TEST_TOKEN, clock)
    q = wc.query()
    inner = xml("o-someone", "text", create_time=wc.ts(), msg_id=87, Content="帮助")
    enc = WeChatCrypto(TEST_TOKEN, AES_KEY, "wxtestappid").encrypt_message(inner, q["nonce"], q["timestamp"])
    encrypt = enc.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    both = inner.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    msig = wechat_signature(TEST_TOKEN, q["timestamp"], q["nonce"], encrypt)
    r = app.test_client().post(
        "/wechat", query_string={**q, "encrypt_type": "aes", "msg_signature": msig}, data=both
    )
    assert r.status_code == 200 and "欢迎" in r.get_data(as_text=True)
    assert "<Encrypt>" not in r.get_data(as_text=True)  # answered in plain: our key cannot encrypt for WeChat
    assert transports(lx) == ["compat"] and edge_faults(lx) == {"decrypt_failed": 1}


def test_an_encrypted_message_without_a_key_is_refused_and_counted(make_lx: Any, clock: Any) -> None:
    lx = make_lx()
    app = wechat_app(lx)
    sender = WechatClient(app.test_client(), TEST_TOKEN, clock, aes_key=AES_KEY)  # the account in 安全模式
    r = sender.post_raw(xml("o-someone", "text", create_time=sender.ts(), msg_id=89, Content="帮助"))
    assert r.status_code == 400
    assert inbound_count(lx) == 0 and edge_faults(lx) == {"no_key": 1}


def test_a_key_that_does_not_open_wechats_message_is_refused_and_counted(make_lx: Any, clock: Any) -> None:
    """A mistyped key (or one changed in the backend only): WeChat's msg_signature holds, decryption fails."""
    other_key = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")
    lx = make_lx(**{"wechat.encoding_aes_key": other_key})
    app = wechat_app(lx)
    sender = WechatClient(app.test_client(), TEST_TOKEN, clock, aes_key=AES_KEY)
    for msg_id in (90, 91):
        r = sender.post_raw(xml("o-someone", "text", create_time=sender.ts(), msg_id=msg_id, Content="帮助"))
        assert r.status_code == 400
    assert inbound_count(lx) == 0 and edge_faults(lx) == {"decrypt_failed": 2}
    # a forged request (no valid msg_signature) is no evidence about the key: not counted
    q = sender.query()
    r = app.test_client().post(
        "/wechat",
        query_string={**q, "encrypt_type": "aes", "msg_signature": "f" * 40},
        data="<xml><Encrypt><![CDATA[abcd]]></Encrypt></xml>",
    )
    assert r.status_code == 403 and edge_faults(lx) == {"decrypt_failed": 2}


def test_safe_mode_bad_msg_signature_is_403(make_lx: Any, clock: Any) -> None:
    from wechatpy.crypto import WeChatCrypto

    lx = make_lx(**{"wechat.encoding_aes_key": AES_KEY})
    app = wechat_app(lx)
    wc = WechatClient(app.test_client(), TEST_TOKEN, clock)
    q = wc.query()
    enc = WeChatCrypto(TEST_TOKEN, AES_KEY, "wxtestappid").encrypt_message(
        xml("o-x", "text", create_time=wc.ts(), msg_id=9, Content="帮助"), q["nonce"], q["timestamp"]
    )
    encrypt = enc.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    r = app.test_client().post(
        "/wechat", query_string={**q, "encrypt_type": "aes", "msg_signature": "f" * 40}, data=body
    )
    assert r.status_code == 403
    # encrypted for another AppID: the signature holds, the AppID check refuses it
    other = WeChatCrypto(TEST_TOKEN, AES_KEY, "wxOTHERapp").encrypt_message(
        xml("o-x", "text", create_time=wc.ts(), msg_id=10, Content="帮助"), q["nonce"], q["timestamp"]
    )
    encrypt = other.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    good_sig = wechat_signature(TEST_TOKEN, q["timestamp"], q["nonce"], encrypt)
    r = app.test_client().post(
        "/wechat",
        query_string={**q, "encrypt_type": "aes", "msg_signature": good_sig},
        data=f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
    )
    assert r.status_code == 400
    assert inbound_count(lx) == 0


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o-evil</FromUserName><CreateTime>{ts}</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>77</MsgId></xml>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o-evil</FromUserName><CreateTime>{ts}</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>78</MsgId></xml>"""


@pytest.mark.parametrize(
    "case",
    [
        "bad_signature",
        "non_ascii_signature",
        "non_ascii_msg_signature",
        "no_signature",
        "old_timestamp",
        "future_timestamp",
        "malformed",
        "not_xml_root",
        "billion_laughs",
        "external_entity",
        "empty_body",
        "too_big",
        "no_sender",
        "bad_create_time",
    ],
)
def test_refused_requests_store_nothing(env: Any, clock: Any, case: str) -> None:
    lx, app, wc = env
    p = setup_people(lx, clock)
    wc.text("o-cadre", f"绑定 {p['code']}")
    before, n_in = counts(lx), inbound_count(lx)
    ts = wc.ts()
    good = xml("o-cadre", "text", create_time=ts, msg_id=4242, Content="今天走访三户")
    q = wc.query()
    status = 400
    if case == "bad_signature":
        r, status = wc.post_raw(good, query={**q, "signature": "a" * 40}), 403
    elif case == "non_ascii_signature":
        r, status = wc.post_raw(good, query={**q, "signature": "签名" * 20}), 403
    elif case == "non_ascii_msg_signature":
        if wc.crypto is None:
            pytest.skip("msg_signature exists only in safe mode")
        r, status = (
            wc.post_raw(
                "<xml><Encrypt><![CDATA[abcd]]></Encrypt></xml>",
                query={**q, "encrypt_type": "aes", "msg_signature": "签名" * 20},
            ),
            403,
        )
    elif case == "no_signature":
        r, status = wc.post_raw(good, query={"timestamp": q["timestamp"], "nonce": q["nonce"]}), 403
    elif case == "old_timestamp":
        r, status = wc.post_raw(good, query=wc.query(timestamp=ts - 301)), 403
    elif case == "future_timestamp":
        r, status = wc.post_raw(good, query=wc.query(timestamp=ts + 3600)), 403
    elif case == "malformed":
        r = wc.post_raw("<xml><Content>half")
    elif case == "not_xml_root":
        r = wc.post_raw("<html><FromUserName>o</FromUserName></html>")
    elif case == "billion_laughs":
        r = wc.post_raw(BILLION_LAUGHS.format(ts=ts))
    elif case == "external_entity":
        r = wc.post_raw(EXTERNAL_ENTITY.format(ts=ts))
    elif case == "empty_body":
        r = wc.post_raw("")
    elif case == "too_big":
        r = wc.post_raw(xml("o-cadre", "text", create_time=ts, msg_id=4243, Content="字" * 34_000))  # ~100 KB
    elif case == "no_sender":
        r = wc.post_raw(xml("", "text", create_time=ts, msg_id=4244, Content="hi"))
    elif case == "bad_create_time":
        r = wc.post_raw(good.replace(f"<CreateTime>{ts}</CreateTime>", "<CreateTime>soon</CreateTime>"))
    assert r.status_code == status, r.get_data(as_text=True)
    assert counts(lx) == before
    assert inbound_count(lx) == n_in


def test_handled_but_harmless_inputs(env: Any, clock: Any, renders: Any) -> None:
    """Accepted by the edge, answered, logged as inbound — and no domain change."""
    lx, app, wc = env
    p = setup_people(lx, clock)
    wc.text("o-cadre", f"绑定 {p['code']}")
    wc.text("o-vill", "20261124")
    before = counts(lx)
    assert (
        renders.behind(wc.text("o-cadre", "   ")).name == "diary_usage"
    )  # empty content: usage, nothing stored
    assert renders.behind(wc.text("o-cadre", "")).name == "diary_usage"
    assert renders.behind(wc.post("o-vill", "video", MediaId="v1", ThumbMediaId="t1")).name == "unsupported"
    assert renders.behind(wc.post("o-vill", "miniprogrampage", Title="x")).name == "unsupported"
    assert (
        renders.behind(wc.post("o-cadre", "shortvideo", MediaId="v1", ThumbMediaId="t1")).name
        == "unsupported"
    )
    # a key no menu of ours has: help, nothing stored
    assert renders.behind(wc.event("o-vill", "CLICK", key="MENU_1")).name == "menu_unknown_key"
    assert counts(lx) == before


def test_emoji_and_long_text_are_stored_whole(env: Any, clock: Any, renders: Any) -> None:
    lx, app, wc = env
    p = setup_people(lx, clock)
    wc.text("o-cadre", f"绑定 {p['code']}")
    text = "今天走访😀👨‍👩‍👧 张大爷家🌾" + "很好" * 2000
    assert renders.behind(wc.text("o-cadre", text)).name == "diary_saved"
    with lx.session() as s:
        assert s.scalar(select(DiaryEntry.text)) == text


def test_reply_xml_cannot_be_broken_by_cdata_terminators(env: Any, clock: Any, renders: Any) -> None:
    lx, app, wc = env
    p = setup_people(lx, clock)
    wc.text("o-]]><x>", f"绑定 {p['code']}")
    wc.text("o-]]><x>", "走]]><b>x")
    reply = wc.text("o-]]><x>", "撤销")
    assert reply is not None and renders.behind(reply).name == "diary_undone" and "走]]><b>x" in reply


def test_handler_error_gives_apology_and_rolls_back(
    env: Any, clock: Any, monkeypatch: Any, renders: Any
) -> None:
    lx, app, wc = env
    p = setup_people(lx, clock)
    wc.text("o-cadre", f"绑定 {p['code']}")
    import handlers.diary as diary

    def broken(ctx: Any, text: str) -> Any:
        raise RuntimeError("boom")

    real = diary.save_diary_entry

    def half_then_boom(*args: Any) -> Any:
        real(*args)  # the entry is written, then the handler fails
        raise RuntimeError("boom")

    monkeypatch.setattr(diary, "save_diary_entry", half_then_boom)
    reply = wc.text("o-cadre", "今天走访三户", msg_id=555)
    assert renders.behind(reply).name == "error"
    with lx.session() as s:
        assert s.scalar(select(func.count()).select_from(DiaryEntry)) == 0
        row = s.scalar(select(InboundMessage).where(InboundMessage.dedup_key == "msg:555"))
        assert row.status == "failed" and "boom" in row.error and row.reply == reply
    # WeChat's retry of the same message gets the same apology, nothing runs again
    assert wc.text("o-cadre", "今天走访三户", msg_id=555) == reply


@pytest.mark.parametrize(
    ("event", "says"),
    [
        ("annual_renew", "将于 2026年12月20日 到期"),
        ("verify_expired", "已过期"),
        ("qualification_verify_success", "重新打印"),
    ],
)
def test_wechat_verification_events_are_told_to_the_office_once(
    make_lx: Any, clock: Any, event: str, says: str
) -> None:
    """微信认证 lasts a year: WeChat's system account sends annual_renew before it lapses and verify_expired when
    it has (微信认证事件推送); the office hears of it, once, whatever WeChat's retries."""
    clock.set("2026-11-24 20:00")
    lx = make_lx(**{"scheduler.office_openids": ["o-office-1", "o-office-2"]})
    wc = WechatClient(wechat_app(lx).test_client(), TEST_TOKEN, clock)
    expires = int(datetime(2026, 12, 20, 4, tzinfo=UTC).timestamp())
    created = wc.ts()
    for _ in range(2):  # WeChat's retry of the same event
        assert wc.event("o-wechat-system", event, ExpiredTime=expires, create_time=created) is None
    with lx.session() as s:
        pushes = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.openid)))
    assert [(p.openid, p.kind) for p in pushes] == [("o-office-1", "notice"), ("o-office-2", "notice")]
    assert all(says in p.payload["text"] for p in pushes), pushes[0].payload["text"]
