"""`lianxin purge` leaves no copy behind (issue 21 item 13): the purged text goes out of digests that merged it
with other messages and out of those digests' pages, the other messages staying; and uploaded link lists never
confirmed are deleted — at a purge, and after [console] import_upload_hours by the housekeeping job."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from bot.cli import CliState, main
from reminders import channels, jobs
from storage.models import Household, OutboxMessage, PushLink
from storage.purge import PURGED_TEXT, purge_household
from storage.push_links import create_link, find_link
from tests.support.chat_env import Chat, make_chat
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)

PHONE = "13900001111"
SECRET = "我家老人查出了慢性病，低保的事想问问"
OTHER = "路灯坏了三天了"


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 20:00")
    c = make_chat(make_lx, clock)
    with c.factory() as f:
        li = f.cadre(name="李明", phone=PHONE)
        f.household(li, head_name="张大山", card="20261124", head_phone="13812345678")
        f.household(li, head_name="刘婶", card="20261125")
    assert "绑定成功" in c.wc.text("o-li", f"绑定 {c.code(PHONE)}")
    c.wc.text("o-zhang", "20261124")
    c.wc.text("o-liu", "20261125")
    c.wc.text("o-zhang", SECRET)
    c.wc.text("o-liu", OTHER)
    return c


def _digest(chat: Chat, first: str, second: str) -> tuple[int, str]:
    """The cadre's two request pushes merged into one digest (as delivery does when the window's quota is
    short), carried by the push of ``first``'s request, with its page; returns (carrier id, page token)."""
    with chat.lx.session() as s:
        rows = {
            m.payload["text"]: m
            for m in s.scalars(
                select(OutboxMessage).where(OutboxMessage.openid == "o-li", OutboxMessage.kind == "request")
            )
        }
        ordered = [next(m for t, m in rows.items() if w in t) for w in (first, second)]
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([m.id for m in ordered]))
            .values(status="sending", claimed_by="claim-1")
        )
        for m in ordered:
            s.expunge(m)
    carrier = channels.merge(chat.lx, ordered, "claim-1")
    with chat.lx.session() as s:
        token = create_link(
            s,
            outbox_id=carrier.id,
            openid="o-li",
            kind=carrier.kind,
            payload=carrier.payload,
            now=chat.clock(),
            days=7,
        )
    return carrier.id, token


def _purge(chat: Chat, name: str = "张大山") -> None:
    with chat.lx.session() as s:
        h = s.scalar(select(Household).where(Household.head_name == name))
        purge_household(s, h, actor="test", now=chat.clock(), media_root=chat.lx.config.general.media_dir)


@pytest.mark.parametrize("carried_by", ["other", "purged"])
def test_purge_takes_the_text_out_of_a_digest_and_its_page(chat: Chat, carried_by: str) -> None:
    first, second = (OTHER, SECRET) if carried_by == "other" else (SECRET, OTHER)
    carrier_id, token = _digest(chat, first, second)
    with chat.lx.session() as s:
        assert SECRET in s.get(OutboxMessage, carrier_id).payload["text"]
        assert SECRET in find_link(s, token, chat.clock()).text
    _purge(chat)
    with chat.lx.session() as s:
        carrier = s.get(OutboxMessage, carrier_id)
        link = find_link(s, token, chat.clock())
        every_push = " ".join(str(m.payload) for m in s.scalars(select(OutboxMessage)))
        every_page = " ".join(p.text for p in s.scalars(select(PushLink)))
    assert SECRET not in every_push and "张大山" not in every_push
    assert SECRET not in every_page and "张大山" not in every_page
    # the digest and its page still carry the other household's message
    assert OTHER in carrier.payload["text"] and PURGED_TEXT in carrier.payload["text"]
    assert link is not None and OTHER in link.text and PURGED_TEXT in link.text


# ------------------------------------------------------------------------------------------- uploads


CSV = (
    "村(居),村民小组,户主姓名,户主电话,家庭人口,服务卡号,联户干部,干部电话,干部岗位,干部单位\n"
    "新桥村,二组,孙大田,13855556666,3,,李明,13900000001,村支书,新桥村委会\n"
)


def _upload(w: World) -> Any:
    c = w.login("admin")
    r = c.post(
        "/import", {"file": (io.BytesIO(CSV.encode("utf-8")), "名单.csv")}, content_type="multipart/form-data"
    )
    assert r.status_code == 200 and "确认导入" in page_text(r)
    return c


def _uploads(w: World) -> list[Path]:
    d = Path(w.lx.config.general.media_dir) / "imports"
    return sorted(d.iterdir()) if d.is_dir() else []


def test_an_abandoned_upload_is_deleted_after_its_hours(world: World) -> None:
    c = _upload(world)
    [path] = _uploads(world)
    assert "孙大田" in path.read_text(encoding="utf-8")
    assert (
        jobs.run(world.lx, "housekeeping", world.clock() + timedelta(hours=23)).detail["uploads_removed"] == 0
    )
    assert path.exists()
    assert (
        jobs.run(world.lx, "housekeeping", world.clock() + timedelta(hours=25)).detail["uploads_removed"] == 1
    )
    assert _uploads(world) == []
    assert c.post("/import/confirm").status_code == 400  # nothing left to confirm: upload again


def test_a_new_upload_sweeps_others_abandoned_ones(world: World) -> None:
    _upload(world)
    world.clock.advance(hours=25)
    _upload(world)  # a later session's upload (the first one's session timed out long ago)
    assert len(_uploads(world)) == 1


def test_a_purge_deletes_every_pending_upload(world: World) -> None:
    _upload(world)
    assert len(_uploads(world)) == 1
    state = CliState()
    state._lx = world.lx
    r = CliRunner().invoke(main, ["purge", "--card", "10000002", "--yes"], obj=state, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert _uploads(world) == []
