"""The WeChat API failing in every documented way, against the fake API server: nothing lost, nothing sent
twice, the right fallback.

One table: for each failure (HTTP 500, a timeout, errcode -1, 40001, 42001, 45009, 45015, 45047, 43004) on the
endpoint where WeChat gives it (customer-service and/or template messages), three queued messages — two to
people whose 48-hour window is open (customer-service channel), one to a person outside it (template) — are
driven to the end by the real dispatcher. Expected outcome per failure:

- transient (500, timeout, -1): retried after back-off, then delivered once;
- token (40001, 42001): the shared token is refreshed and the call retried at once; delivered once;
- 45015 / 45047 (window closed / quota spent): the same message goes as a template, once;
- 43004 (unsubscribed): not delivered, the person marked unreachable, the office told; the others delivered;
- 45009 (daily quota): delivery pauses (nothing counts as an attempt) and resumes; all delivered once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from reminders.delivery import PAUSE_LEASE, dispatch_outbox, paused_until
from storage.models import Lease, OutboxMessage, WechatIdentity
from storage.outbox import enqueue, open_user_window
from tests.fake_wechat import FakeWechat
from tests.support.factories import Factory

TEMPLATES = {
    f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in ("task", "reminder", "request", "reply", "notice")
}
OFFICE = "o-office"

# (failure, endpoint, expected outcome)
TABLE = [
    (500, "custom", "retried"),
    (500, "template", "retried"),
    ("timeout", "custom", "retried"),
    ("timeout", "template", "retried"),
    (-1, "custom", "retried"),
    (-1, "template", "retried"),
    (40001, "custom", "token"),
    (40001, "template", "token"),
    (42001, "custom", "token"),
    (42001, "template", "token"),
    (45009, "custom", "paused"),
    (45009, "template", "paused"),
    (45015, "custom", "template"),
    (45047, "custom", "template"),
    (43004, "custom", "unreachable"),
    (43004, "template", "unreachable"),
]


@pytest.fixture
def fake() -> Iterator[FakeWechat]:
    with FakeWechat(timeout_seconds=1.0) as f:
        yield f


@pytest.fixture
def wx(make_lx: Any, fake: FakeWechat) -> Any:
    return make_lx(
        **{
            "wechat.api_base": fake.url,
            "wechat.request_timeout_seconds": 0.3,
            "wechat.retry_base_seconds": 10,
            "scheduler.office_openids": [OFFICE],
            **TEMPLATES,
        }
    )


def setup_people(lx: Any, fake: FakeWechat) -> dict[str, str]:
    """A and B wrote to us an hour ago (window open); C never did (template only). The office too."""
    out = {}
    with lx.session() as s:
        f = Factory(s)
        for name, recent in (("A", True), ("B", True), ("C", False)):
            ident = f.identity(f"o-{name}", cadre=f.cadre())
            open_user_window(ident, lx.now() - timedelta(hours=1) if recent else None)
            if recent:
                fake.interact(ident.openid)
            out[name] = ident.openid
        open_user_window(f.identity(OFFICE, kind="office"), None)
        for name in ("A", "B", "C"):
            assert enqueue(
                s, openid=out[name], kind="reminder", text=f"提醒{name}：请写民情日记", key=f"k-{name}"
            )
    return out


def drive(lx: Any, clock: Any, rounds: int = 30) -> dict[str, Any]:
    """Run the dispatcher until nothing is due: past each back-off, and past a 45009 pause (the next day)."""
    seen = {"paused": 0, "rounds": 0}
    for _ in range(rounds):
        r = dispatch_outbox(lx)
        seen["rounds"] += 1
        if r.paused:
            seen["paused"] += 1
            assert paused_until(lx) is not None
            with lx.session() as s:  # the quota comes back at midnight
                s.execute(delete(Lease).where(Lease.name == PAUSE_LEASE))
        with lx.sessions() as s:
            left = s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "sending")))
            )
        if not left and not r.paused:
            return seen
        clock.advance(hours=1)
    raise AssertionError("the outbox did not drain")


def rows(lx: Any) -> dict[str, OutboxMessage]:
    with lx.sessions() as s:
        return {m.idempotency_key: m for m in s.scalars(select(OutboxMessage))}


@pytest.mark.parametrize("failure,endpoint,outcome", TABLE, ids=[f"{f}-{e}" for f, e, _ in TABLE])
def test_every_documented_failure(
    wx: Any, fake: FakeWechat, clock: Any, failure: Any, endpoint: str, outcome: str
) -> None:
    people = setup_people(wx, fake)
    victim = "A" if endpoint == "custom" else "C"  # the first call to that endpoint
    fake.fail(endpoint, failure)
    fetches_before = fake.token_fetches
    seen = drive(wx, clock)

    sent = Counter(d.openid for d in fake.delivered if d.openid != OFFICE)
    assert all(n == 1 for n in sent.values()), f"sent twice: {sent}"
    by_key = rows(wx)
    expected_channel = {"A": "custom", "B": "custom", "C": "template"}
    for name in ("A", "B", "C"):
        m = by_key[f"k-{name}"]
        if name == victim and outcome == "unreachable":
            assert m.status == "failed" and "43004" in (m.last_error or "")
            assert sent[people[name]] == 0
            continue
        assert m.status == "sent", (name, m.status, m.last_error)
        assert sent[people[name]] == 1, name
        assert f"提醒{name}" in next(d.text for d in fake.delivered if d.openid == people[name])
        channel = "template" if (name == victim and outcome == "template") else expected_channel[name]
        assert m.channel == channel, (name, m.channel)
        attempts = 2 if (name == victim and outcome == "retried") else 1
        assert m.attempts == attempts, (name, m.attempts, m.last_error)

    if outcome == "retried":
        assert seen["rounds"] >= 2  # waited for the back-off, did not hammer
    if outcome == "token":
        assert fake.token_fetches >= fetches_before + 2  # refreshed once after the rejection
    if outcome == "paused":
        assert seen["paused"] >= 1
    if outcome == "unreachable":
        with wx.sessions() as s:
            ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == people[victim]))
            assert ident.unreachable
        notices = fake.texts_to(OFFICE)
        assert len(notices) == 1 and f"提醒{victim}" in notices[0]
    else:
        assert fake.texts_to(OFFICE) == []


@pytest.mark.parametrize("failure", [500, "timeout", -1])
def test_transient_failures_until_max_attempts_end_failed_not_lost(
    make_lx: Any, fake: FakeWechat, clock: Any, failure: Any
) -> None:
    """WeChat down for hours: after max_attempts the message is ``failed`` (listed by ``lianxin outbox --failed``),
    never silently dropped; a retry by the office then delivers it once."""
    from reminders.delivery import retry

    lx = make_lx(
        **{
            "wechat.api_base": fake.url,
            "wechat.request_timeout_seconds": 0.3,
            "wechat.max_attempts": 3,
            "wechat.retry_base_seconds": 10,
            **TEMPLATES,
        }
    )
    setup_people(lx, fake)
    with lx.session() as s:  # only C's message
        s.execute(delete(OutboxMessage).where(OutboxMessage.idempotency_key != "k-C"))
    fake.fail("template", failure, times=3)
    drive(lx, clock)
    m = rows(lx)["k-C"]
    assert m.status == "failed" and m.attempts == 3 and fake.delivered == []
    with lx.session() as s:
        retry(s, m.id, now=clock())
    drive(lx, clock)
    assert [d.openid for d in fake.delivered] == ["o-C"] and "提醒C" in fake.delivered[0].text


def test_token_rejected_twice_is_retried_later_not_failed(wx: Any, fake: FakeWechat, clock: Any) -> None:
    """40001 again right after a refresh (another process forced a new token in between): try later, keep the
    message — a token problem says nothing about the message."""
    setup_people(wx, fake)
    with wx.session() as s:
        s.execute(delete(OutboxMessage).where(OutboxMessage.idempotency_key != "k-C"))
    fake.fail("template", 40001, times=2)
    drive(wx, clock)
    m = rows(wx)["k-C"]
    assert m.status == "sent" and [d.openid for d in fake.delivered] == ["o-C"]


def test_no_duplicate_when_the_window_closes_between_queue_and_send(
    wx: Any, fake: FakeWechat, clock: Any
) -> None:
    """Our record says the window is open, WeChat says 45015: one template, no second custom attempt later."""
    setup_people(wx, fake)
    fake.close_window("o-A")
    fake.close_window("o-B")
    drive(wx, clock)
    assert Counter(d.channel for d in fake.delivered) == {"template": 3}
    with wx.sessions() as s:
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
            == 3
        )
    with wx.session() as s:
        s.execute(update(OutboxMessage).values(status="sent"))  # (nothing left to do)
    assert dispatch_outbox(wx).sent == 0
