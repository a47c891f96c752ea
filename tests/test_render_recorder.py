"""The render recorder (tests/support/renders.py) that other tests assert through: it sees every reply, push and
console page with its template and values, keeps rows as they were when rendered, and stops listening after."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from handlers import render as text_render
from storage.models import OutboxMessage, VillagerRequest
from tests.support.chat_env import bound, cadre_world
from tests.support.console_world import (
    World,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.renders import RenderRecorder


def test_a_reply_and_the_push_it_queued_are_recorded_with_their_values(
    make_lx: Any, clock: Any, renders
) -> None:
    chat = cadre_world(make_lx, clock)
    bound(chat)
    diary = chat.wc.text("o-li", "日记 走访张大爷家")
    assert renders.behind(diary).name == "diary_saved"
    assert renders.behind(diary)["day"] == date(2026, 11, 24) and renders.behind(diary)["n"] == 1

    chat.wc.text("o-zhang", "20261124")
    reply = chat.wc.text("o-zhang", "路灯坏了")
    assert renders.behind(reply).name == "request_received"
    push = chat.one(select(OutboxMessage).where(OutboxMessage.kind == "request"))
    said = renders.behind(push.payload["text"])
    assert (
        said.name == "request_push"
        and said["request"].number == 1
        and said["household"].head_name == "张大爷"
    )
    assert renders.names()[-2:] == ["request_push", "request_received"]


def test_rows_are_kept_as_they_were_when_rendered(make_lx: Any, clock: Any, renders) -> None:
    chat = cadre_world(make_lx, clock)
    bound(chat)
    chat.wc.text("o-zhang", "20261124")
    chat.wc.text("o-zhang", "路灯坏了")
    chat.wc.text("o-li", "回复 1 明天去修")
    assert chat.one(select(VillagerRequest.status)) == "answered"
    assert renders.last("request_push")["request"].status == "open"  # as the cadre was told, not as it is now


def test_a_missing_render_fails_naming_what_was_rendered(make_lx: Any, clock: Any, renders) -> None:
    chat = cadre_world(make_lx, clock)
    bound(chat)
    try:
        renders.last("no_such_template")
    except AssertionError as e:
        assert "bind_ok" in str(e)
    else:
        raise AssertionError("last() found a template nobody rendered")
    try:
        renders.behind("没有人说过这句话")
    except AssertionError as e:
        assert "bind_ok" in str(e)
    else:
        raise AssertionError("behind() found words nobody rendered")


def test_console_pages_are_recorded_with_their_context(world: World, renders) -> None:
    admin = world.login("admin")
    assert admin.get(f"/requests/{world.ids['req_a']}").status_code == 200
    page = renders.page()
    assert page.kind == "page" and page.name == "request.html"
    assert page["r"].number == world.ids["req_a"] and page["r"].household.head_name == "张大山"


def test_the_recorder_stops_listening_when_the_test_ends() -> None:
    before = list(text_render.observers)
    recorder = RenderRecorder()
    listening = recorder.listen()
    next(listening)
    assert len(text_render.observers) == len(before) + 1
    text_render.render("undo_nothing", minutes=10)
    assert recorder.names() == ["undo_nothing"]
    listening.close()
    assert text_render.observers == before
    text_render.render("undo_nothing", minutes=10)
    assert recorder.names() == ["undo_nothing"]
