"""A villager's photo or voice outside the cadre's window: the request's template message links to a page that
shows the photo and plays the voice (MP3) from the phone, served ``Cache-Control: private``; inside the window
each forwarded photo or voice counts as one of the window's messages, as WeChat counts it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import select, update

from storage.models import Attachment, WechatIdentity
from storage.outbox import user_window_columns
from tests.fake_wechat import FakeWechat
from tests.support.cli import run_cli
from tests.support.console_world import build_world
from tests.support.wechat_browser import open_link
from tests.support.wechat_client import TEST_TOKEN, WechatClient
from tests.test_voice_kept import needs_ffmpeg, tiny_amr

PUBLIC = "https://lianxin.example.gov.cn"
TEMPLATES = {
    f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in ("task", "reminder", "request", "reply", "notice")
}


@pytest.fixture
def fake() -> Iterator[FakeWechat]:
    with FakeWechat() as f:
        yield f


@pytest.fixture
def world(make_lx: Any, clock: Any, fake: FakeWechat) -> Any:
    clock.set("2026-11-24 19:00")
    return build_world(
        make_lx(
            **{
                "wechat.api_base": fake.url,
                "wechat.oauth_base": fake.url,
                "wechat.public_url": PUBLIC,
                **TEMPLATES,
            }
        ),
        clock,
    )


def dispatch(w: Any) -> None:
    result = run_cli(w.lx, "jobs", "run", "dispatch_outbox")
    assert result.exit_code == 0, result.output


def chat(w: Any) -> WechatClient:
    return WechatClient(w.app.test_client(), TEST_TOKEN, w.clock)


@needs_ffmpeg
def test_outside_the_window_the_requests_page_shows_the_photo_and_plays_the_voice(world, fake, tmp_path):
    w = world
    cadre, villager = w.openids["cadre_a"], w.openids["villager_a"]
    with w.lx.session() as s:  # the cadre last wrote three days ago: no customer-service message can go
        s.execute(
            update(WechatIdentity)
            .where(WechatIdentity.openid == cadre)
            .values(**user_window_columns(w.clock() - timedelta(days=3)))
        )
    fake.add_media("v-voice", tiny_amr(tmp_path), "audio/amr")
    fake.add_media("v-photo", b"\xff\xd8\xff\xe0fakejpeg", "image/jpeg")
    chat(w).voice(villager, "", media_id="v-voice")
    w.clock.advance(minutes=1)
    chat(w).image(villager, media_id="v-photo")
    dispatch(w)  # the two request pushes as templates; the media fetched, not forwarded (window closed)
    dispatch(w)
    pushes = [d for d in fake.delivered if d.openid == cadre and d.template_id == "TPL_REQUEST"]
    assert len(pushes) == 2 and not any(d.text.startswith(("[voice:", "[image:")) for d in fake.delivered)
    web = w.app.test_client()  # the cadre's phone: WeChat's web OAuth names them to each page
    kinds = {}
    pages = {}
    for d in pushes:
        page = open_link(web, d.url, public=PUBLIC, openid=cadre).text
        pages[urlparse(d.url).path] = page
        for tag, src in re.findall(r'<(img|audio)[^>]*src="([^"]+)"', page):
            r = web.get(src)
            r.close()  # the file is streamed: close it as a server would
            assert r.status_code == 200
            assert r.headers["Cache-Control"].startswith("private")
            kinds[tag] = r.mimetype
    assert kinds == {"img": "image/jpeg", "audio": "audio/mpeg"}  # the voice as MP3, which phones play
    # a link opens its own request's media only
    first, second = (urlparse(d.url).path for d in pushes)
    own = {p: re.findall(r"/media/(\d+)", pages[p]) for p in (first, second)}
    [other] = own[second]
    assert other not in own[first]
    assert web.get(f"{first}/media/{other}").status_code == 404
    assert web.get(f"/m/not-a-token/media/{other}").status_code == 404
    # someone the link was forwarded to gets neither the page nor its media
    stranger = w.app.test_client()
    assert "照片" not in open_link(stranger, pushes[1].url, public=PUBLIC, openid="o-stranger").text
    assert stranger.get(f"{second}/media/{other}").status_code == 404


def test_forwarded_photos_count_against_the_window_and_the_next_push_knows(world, fake, tmp_path):
    w = world
    cadre, villager = w.openids["cadre_a"], w.openids["villager_a"]
    chat(w).text(cadre, "任务")  # the cadre wrote to us: five messages in 48 hours
    fake.interact(cadre)
    dispatch(w)  # what the world queued before (the card's push)
    with w.lx.session() as s:  # three of them already used
        s.execute(update(WechatIdentity).where(WechatIdentity.openid == cadre).values(window_sent=3))
    with fake.lock:
        fake.windows[cadre][0] = 3
    fake.add_media("p1", b"\xff\xd8\xff\xe0one", "image/jpeg")
    fake.add_media("p2", b"\xff\xd8\xff\xe0two", "image/jpeg")
    chat(w).image(villager, media_id="p1")
    dispatch(w)  # the request's text (one message) and the photo itself (the other)
    with w.lx.sessions() as s:
        assert s.scalar(select(WechatIdentity.window_sent).where(WechatIdentity.openid == cadre)) == 5
    w.clock.advance(minutes=1)
    chat(w).image(villager, media_id="p2")
    dispatch(w)  # the window is spent: a template, and the photo waits behind its link
    assert 45047 not in [code for _, code in fake.calls]  # our count matched WeChat's: never refused
    to_cadre = [d for d in fake.delivered if d.openid == cadre]
    assert [d.channel for d in to_cadre][-1] == "template"
    assert sum(d.text.startswith("[image:") for d in to_cadre) == 1
    notes = w.one(select(Attachment.forward_note).where(Attachment.media_id == "p2"))
    assert "window closed" in notes
