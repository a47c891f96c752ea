"""Outbox delivery against the fake WeChat API: channels, merging, every documented error, concurrency."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.wechat.api import WechatClient
from reminders.delivery import dispatch_outbox, paused_until, retry
from reminders.media import download_media
from reminders.outbox_claims import CLAIM_SECONDS
from storage.models import AccessToken, Attachment, OutboxMessage, WechatIdentity
from storage.outbox import enqueue, open_user_window, user_window_columns
from storage.timestamps import utcnow
from tests.fake_wechat import FakeWechat
from tests.support.factories import Factory

TEMPLATES = {
    f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in ("task", "reminder", "request", "reply", "notice")
}


@pytest.fixture
def fake():
    with FakeWechat() as f:
        yield f


@pytest.fixture
def wx(make_lx, fake):
    return make_lx(
        **{
            "wechat.api_base": fake.url,
            "wechat.request_timeout_seconds": 0.5,
            "wechat.retry_base_seconds": 10,
            **TEMPLATES,
        }
    )


def _people(lx, n, *, window=True):
    with lx.session() as s:
        f = Factory(s)
        out = []
        for _ in range(n):
            ident = f.identity(cadre=f.cadre())
            open_user_window(ident, lx.now() - timedelta(hours=1) if window else None)
            out.append(ident.openid)
    return out


def _queue(lx, openid, text, key, kind="reminder"):
    with lx.session() as s:
        assert enqueue(s, openid=openid, kind=kind, text=text, key=key)


def _drain(lx, clock, rounds=20, **kw):
    """Run the dispatcher until nothing is due, moving the clock past each back-off."""
    total = None
    for _ in range(rounds):
        r = dispatch_outbox(lx, **kw)
        if total is None:
            total = r
        else:
            total.add(r)
        with lx.sessions() as s:
            left = s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "sending")))
            )
        if not left:
            break
        clock.advance(hours=1)
    return total


def _statuses(lx):
    with lx.sessions() as s:
        return dict(
            s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
        )


def test_custom_message_in_window_template_outside(wx, fake, clock):
    inside, outside = _people(wx, 1)[0], _people(wx, 1, window=False)[0]
    fake.interact(inside)
    _queue(wx, inside, "你好，窗口内", "k1")
    _queue(wx, outside, "你好，窗口外", "k2")
    r = dispatch_outbox(wx)
    assert (r.sent, r.sent_custom, r.sent_template) == (2, 1, 1)
    assert fake.texts_to(inside) == ["你好，窗口内"]
    [d] = [d for d in fake.delivered if d.openid == outside]
    assert d.channel == "template" and d.template_id == "TPL_REMINDER" and "你好，窗口外" in d.text
    assert _statuses(wx) == {"sent": 2}
    assert dispatch_outbox(wx).sent == 0  # nothing left, nothing sent twice


def test_token_is_shared_through_the_database(wx, fake):
    [openid] = _people(wx, 1)
    fake.interact(openid)
    for i in range(3):
        _queue(wx, openid, f"m{i}", f"k{i}")
    dispatch_outbox(wx)
    dispatch_outbox(wx, client=WechatClient(wx))  # another "process": reuses the stored token
    assert fake.token_fetches == 1
    with wx.sessions() as s:
        assert s.scalar(select(AccessToken.token)) in fake.tokens


def test_failures_500_twice_45015_40001_once_every_message_exactly_once(wx, fake, clock):
    people = _people(wx, 6)
    for p in people[:4]:
        fake.interact(p)  # the last two have a window in our records but WeChat says 45015
    for i, p in enumerate(people):
        _queue(wx, p, f"消息{i}", f"k{i}")
    fake.fail("custom", 500, times=2)
    fake.fail("custom", 45015)
    fake.fail("custom", 40001)
    result = _drain(wx, clock)
    assert result.failed == 0
    assert sorted(d.openid for d in fake.delivered) == sorted(people)
    for i, p in enumerate(people):
        assert sum(f"消息{i}" in t for t in fake.texts_to(p)) == 1
    assert _statuses(wx) == {"sent": 6}
    assert fake.token_fetches == 2, str(fake.calls)  # the 40001 forced exactly one refresh


def test_timeouts_and_minus_one_back_off_then_deliver(wx, fake, clock):
    [p] = _people(wx, 1)
    fake.interact(p)
    _queue(wx, p, "稍后送达", "k")
    fake.fail("custom", "timeout")
    fake.fail("custom", -1)
    r = dispatch_outbox(wx)
    assert r.retried == 1
    with wx.sessions() as s:
        m = s.scalar(select(OutboxMessage))
        assert m.status == "pending" and m.attempts == 1 and m.next_attempt_at > clock()
    assert dispatch_outbox(wx).sent == 0  # not due yet: back-off respected
    clock.advance(seconds=11)
    assert dispatch_outbox(wx).retried == 1  # -1
    with wx.sessions() as s:
        m = s.scalar(select(OutboxMessage))
        assert m.next_attempt_at - clock() == timedelta(seconds=20)  # doubled
    clock.advance(seconds=21)
    assert dispatch_outbox(wx).sent == 1
    assert fake.texts_to(p) == ["稍后送达"]


def test_42001_refreshes_and_45047_falls_back_to_template(wx, fake, clock):
    [p] = _people(wx, 1)
    fake.interact(p)
    _queue(wx, p, "a", "k1")
    dispatch_outbox(wx)
    fake.revoke_tokens()
    fake.fail("custom", 45047)
    _queue(wx, p, "b", "k2")
    r = dispatch_outbox(wx)
    assert r.sent_template == 1
    assert [d.channel for d in fake.delivered] == ["custom", "template"]
    assert fake.token_fetches == 2


def test_quota_short_merges_into_one_digest(wx, fake, clock):
    [p] = _people(wx, 1)
    fake.interact(p)
    for i in range(3):
        _queue(wx, p, f"先前{i}", f"a{i}")
    dispatch_outbox(wx)  # 3 of 5 used
    for i in range(6):
        _queue(wx, p, f"新消息{i}", f"b{i}")
    r = dispatch_outbox(wx)
    assert r.merged == 4 and r.sent_custom == 2  # one single + one digest of five
    texts = fake.texts_to(p)
    assert len(texts) == 5 and texts[3] == "新消息0"
    for i in range(1, 6):
        assert f"新消息{i}" in texts[4]
    st = _statuses(wx)
    assert st == {"sent": 5, "merged": 4}
    with wx.sessions() as s:
        carrier = s.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == "b1"))
        merged = s.scalars(select(OutboxMessage).where(OutboxMessage.status == "merged")).all()
        assert {m.merged_into for m in merged} == {carrier.id}
    # The quota is spent now: the next message goes as a template.
    _queue(wx, p, "再来一条", "c")
    assert dispatch_outbox(wx).sent_template == 1


def test_43004_marks_unreachable_and_tells_the_office(make_lx, fake, clock, renders):
    lx = make_lx(**{"wechat.api_base": fake.url, "scheduler.office_openids": ["oOFFICE"], **TEMPLATES})
    [p] = _people(lx, 1)
    fake.unsubscribe(p)
    _queue(lx, p, "收不到", "k")
    r = dispatch_outbox(lx)
    assert r.failed == 1
    with lx.sessions() as s:
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == p))
        assert ident.unreachable and "43004" in ident.unreachable_reason
    dispatch_outbox(lx)
    [notice] = fake.texts_to("oOFFICE")  # a template: its displayed fields only
    told = renders.behind(notice)
    assert told.name == "unreachable_notice" and told["text"] == "收不到" and "收不到" in notice
    _queue(lx, p, "还是收不到", "k2")
    assert dispatch_outbox(lx).failed == 1  # no call made to an unreachable person
    assert [c for c in fake.calls if c[0] in ("custom", "template")] == [("custom", 43004), ("template", 0)]


def test_45009_pauses_delivery_and_loses_nothing(wx, fake, clock):
    people = _people(wx, 3)
    for i, p in enumerate(people):
        fake.interact(p)
        _queue(wx, p, f"m{i}", f"k{i}")
    fake.fail("custom", 45009)
    r = dispatch_outbox(wx)
    assert r.paused and r.sent == 0
    assert paused_until(wx) is not None
    assert _statuses(wx) == {"pending": 3}
    assert dispatch_outbox(wx).paused
    from sqlalchemy import delete

    from storage.models import Lease

    with wx.session() as s:  # the next day
        s.execute(delete(Lease))
    assert dispatch_outbox(wx).sent == 3


def test_permanent_failure_listed_and_retried(wx, fake, clock):
    [p] = _people(wx, 1, window=False)
    fake.fail(
        "template", 40003
    )  # invalid openid: about this one message (account faults hold: test_faults_holds)
    _queue(wx, p, "模板错了", "k")
    assert dispatch_outbox(wx).failed == 1
    with wx.session() as s:
        m = s.scalar(select(OutboxMessage))
        assert m.status == "failed" and "40003" in m.last_error
        retry(s, m.id, now=clock())
    assert dispatch_outbox(wx).sent == 1
    with wx.session() as s, pytest.raises(ValueError):
        retry(s, s.scalar(select(OutboxMessage.id)), now=clock())


def test_killed_dispatcher_loses_nothing(wx, fake, clock):
    people = _people(wx, 4)
    for i, p in enumerate(people):
        fake.interact(p)
        _queue(wx, p, f"m{i}", f"k{i}")
    from reminders.outbox_claims import claim

    claimed = claim(wx, claim_id="dead-dispatcher", now=clock(), limit=10)
    assert len(claimed) == 4
    assert dispatch_outbox(wx).sent == 0  # claimed by someone alive, as far as we know
    clock.advance(seconds=CLAIM_SECONDS + 1)  # the dead dispatcher's claim runs out
    assert dispatch_outbox(wx).sent == 4
    assert sorted(d.text for d in fake.delivered) == ["m0", "m1", "m2", "m3"]


def test_media_download(wx, fake, clock, tmp_path):
    fake.add_media("MEDIA1", b"\xff\xd8jpegdata", "image/jpeg")
    with wx.session() as s:
        s.add(
            Attachment(
                owner_type="diary", owner_id=1, media_type="image", media_id="MEDIA1", created_at=clock()
            )
        )
        s.add(
            Attachment(
                owner_type="diary", owner_id=2, media_type="voice", media_id="GONE", created_at=clock()
            )
        )
    assert download_media(wx) == 1
    with wx.sessions() as s:
        ok, bad = s.scalars(select(Attachment).order_by(Attachment.id)).all()
        assert Path(ok.stored_path).read_bytes() == b"\xff\xd8jpegdata"
        assert ok.stored_path.startswith(wx.config.general.media_dir) and ok.size == 10
        assert bad.downloaded_at is None and bad.download_attempts == 1 and "40007" in bad.download_error
    assert download_media(wx) == 0


def _bulk_queue(lx, n):
    from sqlalchemy import insert

    with lx.session() as s:
        s.execute(
            insert(OutboxMessage),
            [
                {
                    "idempotency_key": f"bulk:{i}",
                    "openid": f"oBULK{i:06d}",
                    "kind": "task",
                    "payload": {"text": f"第{i}条"},
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": lx.now(),
                }
                for i in range(n)
            ],
        )


def test_two_dispatchers_deliver_each_message_once(wx, fake, make_lx, clock):
    """3,000 messages, two dispatchers at once: PostgreSQL shares rows (SKIP LOCKED), SQLite takes turns."""
    _bulk_queue(wx, 3000)
    second = make_lx(**{"wechat.api_base": fake.url, **TEMPLATES})
    errors = []

    def run(lx, name):
        try:
            for _ in range(50):
                dispatch_outbox(lx, limit=200, worker=name)
                with lx.sessions() as s:
                    if not s.scalar(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status.in_(("pending", "sending")))
                    ):
                        return
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(x, name)) for x, name in ((wx, "A"), (second, "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _statuses(wx) == {"sent": 3000}
    texts = [d.text for d in fake.delivered]
    assert len(texts) == 3000 and len(set(texts)) == 3000
    if wx.engine.dialect.name == "postgresql":  # rows really were shared, not taken in turns
        with wx.sessions() as s:
            workers = {c.split(":")[0] for c in s.scalars(select(OutboxMessage.claimed_by))}
        assert workers == {"A", "B"}


def test_without_credentials_nothing_is_sent_and_nothing_lost(make_lx, fake):
    lx = make_lx(**{"wechat.api_base": fake.url, "wechat.app_secret": "", **TEMPLATES})
    [p] = _people(lx, 1)
    _queue(lx, p, "等配置好再发", "k")
    r = dispatch_outbox(lx)
    assert r.not_configured and r.sent == 0 and fake.calls == []
    assert _statuses(lx) == {"pending": 1}


def test_after_45015_the_rest_of_the_batch_goes_as_templates(wx, fake):
    [p] = _people(wx, 1)  # our records say the window is open; WeChat disagrees
    for i in range(3):
        _queue(wx, p, f"m{i}", f"k{i}")
    r = dispatch_outbox(wx)
    assert r.sent_template == 3
    assert [c for c in fake.calls if c[0] != "token"] == [
        ("custom", 45015),
        ("template", 0),
        ("template", 0),
        ("template", 0),
    ]


def test_outbox_and_dispatch_cli(wx, fake, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main

    [p] = _people(wx, 1)
    with wx.session() as s:  # the CLI runs on the real clock, not the fixture's: open the window as of now
        s.execute(
            update(WechatIdentity)
            .where(WechatIdentity.openid == p)
            .values(**user_window_columns(utcnow() - timedelta(hours=1)))
        )
    fake.interact(p)
    _queue(wx, p, "好消息", "ok")
    [q] = _people(wx, 1, window=False)
    fake.fail("template", 40003)
    _queue(wx, q, "坏模板", "bad")
    cfg = tmp_path / "c.toml"
    tpl = "\n".join(
        f'[wechat.templates.{k}]\nid = "TPL_{k.upper()}"'
        for k in ("task", "reminder", "request", "reply", "notice")
    )
    cfg.write_text(
        f'[database]\nurl = "{wx.config.database_url}"\n[wechat]\napi_base = "{fake.url}"\n'
        f'app_id = "wxtestappid"\napp_secret = "testsecret"\n{tpl}\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("LIANXIN_CONFIG", str(cfg))
    runner = CliRunner()
    r = runner.invoke(main, ["dispatch", "--once"])
    assert r.exit_code == 0 and _statuses(wx) == {"sent": 1, "failed": 1}, r.output
    with wx.sessions() as s:
        assert s.scalar(select(WechatIdentity.window_sent).where(WechatIdentity.openid == p)) == 1
        bad_id = s.scalar(select(OutboxMessage.id).where(OutboxMessage.status == "failed"))
    r = runner.invoke(main, ["outbox", "--failed"])
    assert r.exit_code == 0 and "40003" in r.output and "好消息" not in r.output
    listed = json.loads(runner.invoke(main, ["outbox", "--failed", "--json"]).output)["messages"]
    assert [(m["id"], m["key"]) for m in listed] == [(bad_id, "bad")] and "40003" in listed[0]["last_error"]
    r = runner.invoke(main, ["outbox", "--retry", str(bad_id)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["dispatch", "--once"])
    assert r.exit_code == 0 and _statuses(wx) == {"sent": 2}, r.output
    r = runner.invoke(main, ["outbox", "--retry", str(bad_id)])
    assert r.exit_code != 0 and "只有失败的消息" in r.output  # the operator's error, worded on purpose


def test_forced_token_refresh_at_most_once_per_30_seconds_and_counted(wx, fake, clock):
    """stable_token force_refresh is limited to 20 a day, 30 s apart (docs/wechat-rules.md §1b): a second token
    error right after a forced refresh does not force another; the forced refresh is counted for the day."""
    people = _people(wx, 2)
    for p in people:
        fake.interact(p)
        _queue(wx, p, "令牌", f"tok-{p}")
    fake.fail("custom", 40001, times=4)
    _drain(wx, clock)
    assert len(fake.forced_refreshes) == 1
    with wx.sessions() as s:
        row = s.scalar(select(AccessToken))
        assert row.forced_count == 1 and row.forced_day == utcnow().date().isoformat()
    assert _statuses(wx) == {"sent": 2}


class _Died(BaseException):
    """The dispatcher's process dying (not an Exception: nothing in delivery may catch it)."""


def test_a_template_resent_after_a_dispatcher_died_before_recording_it_shows_once(
    wx, fake, clock, monkeypatch
):
    people = _people(wx, 3, window=False)  # outside the window: templates, which carry client_msg_id
    for i, p in enumerate(people):
        _queue(wx, p, f"督办{i}", f"k{i}")
    import reminders.delivery as delivery

    real_record_sent = delivery.record_sent

    def die(*a, **kw):
        raise _Died()

    monkeypatch.setattr(delivery, "record_sent", die)
    with pytest.raises(_Died):  # WeChat has sent the first; we die before writing it down
        dispatch_outbox(wx)
    monkeypatch.setattr(delivery, "record_sent", real_record_sent)
    assert len(fake.delivered) == 1
    clock.advance(seconds=CLAIM_SECONDS + 1)  # the dead dispatcher's claim runs out
    r = dispatch_outbox(wx)
    with wx.sessions() as s:
        errs = list(s.scalars(select(OutboxMessage.last_error)))
    assert r.sent == 3, errs
    assert sorted(d.openid for d in fake.delivered) == sorted(
        people
    )  # the first one is not on the phone twice
    body = [c for c in fake.calls if c[0] == "template"]
    assert len(body) == 4  # it was asked twice; WeChat's 防重入 id kept it to one message
