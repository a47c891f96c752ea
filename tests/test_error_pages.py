"""Every error page in the console's own Chinese layout with a way back (console/errors.py), and a form that
fails comes back with what was typed and the field's message instead of a bare 400."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import RequestReply, Task, VillagerRequest
from tests.support.console_world import (
    PASSWORDS,
    World,
    build_world,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.serving import serve_in_thread

WERKZEUG = (
    "Method Not Allowed",
    "Forbidden",
    "Not Found",
    "Bad Request",
    "Internal Server Error",
    "Too Large",
)


def _chinese_error_page(r: Any, code: int, title: str) -> str:
    page = page_text(r)
    assert r.status_code == code and title in page and "连心办公室" in page and "返回上一页" in page, page
    for english in WERKZEUG:
        assert english not in page
    return page


def test_reopened_print_tab_gets_a_chinese_405_back_to_printing(world: World) -> None:
    page = _chinese_error_page(world.login("admin").get("/print/cards"), 405, "页面不能这样打开")
    assert 'href="/print"' in page
    assert (
        "admin（办公室管理员" in page and "推送问题" in page
    )  # the menu of who is signed in, as on any page


def test_403_and_404_in_chinese_with_a_way_back(world: World) -> None:
    leader = world.login("leader")
    _chinese_error_page(leader.get("/audit"), 403, "没有权限")
    page = _chinese_error_page(world.login("admin").get("/requests/999"), 404, "找不到该记录")
    assert 'href="/requests"' in page


def test_413_in_chinese(world: World) -> None:
    world.app.config["MAX_CONTENT_LENGTH"] = 1000
    r = world.login("admin").post("/requests/1/reply", {"text": "长" * 2000})
    _chinese_error_page(r, 413, "上传的文件太大")


def test_500_in_chinese(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_: Any) -> Any:
        raise RuntimeError("boom")

    c = world.login("admin")
    monkeypatch.setitem(world.app.view_functions, "console.policy.policy", broken)
    world.app.config["PROPAGATE_EXCEPTIONS"] = False
    page = _chinese_error_page(c.get("/policy"), 500, "系统出错了")
    assert "boom" not in page


def test_failed_reply_comes_back_with_the_typed_text_and_the_fields_message(world: World) -> None:
    c = world.login("admin")
    typed = "明天上午到您家看水管，" + "请家里留人。" * 200  # over 1000 characters
    r = c.post("/requests/1/reply", {"text": typed}, headers={"Referer": "http://localhost/requests/1"})
    page = page_text(r)
    assert r.status_code == 400 and "答复内容不能超过 1000 字" in page and 'class="field-error"' in page
    assert typed in page and "第1号诉求" in page  # the request's own page, the text still in its box
    assert world.count(RequestReply) == 0


def test_failed_offline_complaint_comes_back_for_the_same_household(world: World) -> None:
    c = world.login("admin")
    hid = world.ids["hh_a"]
    typed = "张大山来电：村口水渠堵了，雨天漫进院子，请尽快组织清理。"
    r = c.post(
        "/offline/request",
        {"household_id": hid, "channel": "visit", "at": "昨天下午", "text": typed},
        headers={"Referer": f"http://localhost/offline?household={hid}"},
    )
    page = page_text(r)
    assert r.status_code == 400 and "收到时间格式不正确" in page and 'class="field-error"' in page
    assert typed in page and "张大山" in page and 'value="visit" selected' in page
    assert world.count(VillagerRequest) == 2  # the world's two; nothing added


def test_failed_card_keeps_title_and_body_and_marks_the_deadline(world: World) -> None:
    c = world.login("admin")
    r = c.post(
        "/tasks",
        {
            "title": "秋冬防火再动员",
            "body": "逐户再宣传一次，拍照反馈。",
            "deadline": "下周五",
            "scope": "all",
        },
        headers={"Referer": "http://localhost/tasks"},
    )
    page = page_text(r)
    assert r.status_code == 400 and "截止时间应写作" in page and 'class="field-error"' in page
    assert 'value="秋冬防火再动员"' in page and "逐户再宣传一次，拍照反馈。</textarea>" in page
    assert world.count(Task) == 1  # the world's own card only


def test_failed_form_without_a_page_to_return_to_keeps_the_text_to_copy(world: World) -> None:
    c = world.login("admin")
    typed = "村口路灯坏了三天了，晚上出行很不方便，请尽快修理。"
    r = c.post("/requests/1/reply", {"text": typed, "csrf_token": "stale"}, csrf=False)
    page = _chinese_error_page(r, 400, "请求无效")
    assert "CSRF" in page and typed in page and "复制" in page
    with world.lx.session() as s:
        assert s.scalars(select(RequestReply)).all() == []


# ------------------------------------------------------------------------------------------ in Chromium

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def served(make_lx: Any, clock: Any) -> Iterator[tuple[World, str]]:
    w = build_world(make_lx(), clock)
    with serve_in_thread(w.app) as base:
        yield w, base


@pytest.fixture
def page(served: tuple[World, str]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # only the browser tests need it

    w, base = served
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            pg = b.new_page()
            pg.goto(base + "/login")
            pg.fill("input[name=username]", "admin")
            pg.fill("input[name=password]", PASSWORDS["admin"])
            pg.click("button[type=submit]")
            pg.wait_for_url(base + "/")
            yield pg
        finally:
            b.close()


browser = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} missing")


@pytest.mark.browser
@browser
def test_browser_reopened_print_tab_and_missing_page_lead_back(served: tuple[World, str], page: Any) -> None:
    _, base = served
    r = page.goto(base + "/print/cards")
    assert r is not None and r.status == 405
    assert page.locator("h1").inner_text() == "页面不能这样打开"
    page.click("text=返回上一页")
    page.wait_for_url(base + "/print")
    r = page.goto(base + "/requests/999")
    assert r is not None and r.status == 404 and "找不到该记录" in page.locator("h1").inner_text()
    page.click("text=返回上一页")
    page.wait_for_url(base + "/requests")


@pytest.mark.browser
@browser
def test_browser_reply_too_long_keeps_what_was_typed(served: tuple[World, str], page: Any) -> None:
    w, base = served
    page.goto(base + "/requests/1")
    typed = "明天上午到您家看水管。" * 101  # 1111 characters: over the limit
    page.eval_on_selector(
        "textarea[name=text]", "(el, v) => { el.removeAttribute('maxlength'); el.value = v; }", typed
    )
    page.click("form:has(textarea[name=text]) button[type=submit]")
    page.wait_for_selector(".field-error")
    assert page.input_value("textarea[name=text]") == typed
    assert "1000" in page.locator(".flash.error").inner_text()
    assert w.count(RequestReply) == 0
