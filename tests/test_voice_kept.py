"""Voice is kept (issue 14.5): a voice message's audio is downloaded soon after it arrives, stored with the
diary entry or request, playable in the console (WeChat's AMR turned into MP3 by ffmpeg; the console says so
when ffmpeg is missing), counted as a diary entry, and a villager's voice or photo reaches the cadre as
itself when the cadre's window is open. The fake API's media expires after 3 days, as WeChat's does."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.wechat.api import WechatClient as ApiClient
from reminders import media as media_job
from reminders.wechat_port import WechatError
from storage.models import Attachment, DiaryEntry, OutboxMessage, VillagerRequest, WechatIdentity
from storage.outbox import user_window_columns
from tests.fake_wechat import FakeWechat
from tests.support.cli import run_cli
from tests.support.console_world import PASSWORDS, build_world
from tests.support.serving import serve_in_thread
from tests.support.wechat_client import TEST_TOKEN, WechatClient

CHROMIUM = "/usr/bin/chromium"
FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(
    FFMPEG is None, reason="ffmpeg missing: apt-get install -y ffmpeg (voice is converted from AMR with it)"
)


def tiny_amr(tmp_path: Path) -> bytes:
    """One second of AMR-NB, the format of WeChat's voice messages (8 kHz, docs/wechat-rules.md §6c). Made with ffmpeg's AMR
    encoder where ffmpeg has one; Debian's ffmpeg only decodes AMR (libopencore-amrnb encoding is not enabled),
    so then the file is written in AMR's storage format (RFC 4867 §5: "#!AMR\\n", then 12.2 kbit/s frames,
    header 0x3C + 31 bytes) — and ffmpeg must decode it, or the test would prove nothing."""
    out = tmp_path / "tiny.amr"
    made = subprocess.run(
        [
            FFMPEG,
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-ar",
            "8000",
            "-ac",
            "1",
            "-c:a",
            "libopencore_amrnb",
            "-b:a",
            "12.2k",
            "-y",
            str(out),
        ],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0 or not out.is_file():
        out.write_bytes(b"#!AMR\n" + (bytes([0x3C]) + bytes(31)) * 50)
    probe = subprocess.run(
        [FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(out), "-f", "null", "-"],
        capture_output=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    return out.read_bytes()


@pytest.fixture
def fake() -> Iterator[FakeWechat]:
    with FakeWechat() as f:
        yield f


@pytest.fixture
def world(make_lx: Any, clock: Any, fake: FakeWechat) -> Any:
    clock.set("2026-11-24 19:00")
    return build_world(make_lx(**{"wechat.api_base": fake.url}), clock)


def chat(w: Any) -> WechatClient:
    return WechatClient(w.app.test_client(), TEST_TOKEN, w.clock)


def dispatch(w: Any) -> None:
    result = run_cli(w.lx, "jobs", "run", "dispatch_outbox")
    assert result.exit_code == 0, result.output


def attachment(w: Any, *where: Any) -> Attachment:
    return w.one(select(Attachment).where(*where).order_by(Attachment.id.desc()))


@needs_ffmpeg
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} missing: apt-get install -y chromium")
def test_a_cadres_voice_diary_without_recognition_is_downloaded_and_plays_in_the_console(
    world, fake, tmp_path
):
    w = world
    fake.add_media("voice-diary-1", tiny_amr(tmp_path), "audio/amr")
    reply = chat(w).voice(w.openids["cadre_a"], "", media_id="voice-diary-1")  # no Recognition
    assert "日" in reply
    entry = w.one(select(DiaryEntry).where(DiaryEntry.source == "voice"))
    assert "录音已保存" in entry.text
    dispatch(w)  # the media download runs with every dispatch: minutes after the message, not days
    att = attachment(w, Attachment.owner_type == "diary", Attachment.owner_id == entry.id)
    assert att.media_type == "voice" and att.stored_path and Path(att.stored_path).suffix == ".amr"
    assert Path(att.stored_path).with_suffix(".mp3").is_file()

    from playwright.sync_api import sync_playwright

    with serve_in_thread(w.app) as base, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            # Playwright's wait_for_function evaluates its predicate as a string, which the console's CSP
            # (script-src 'self', no eval) refuses; the page's own scripts are checked under the CSP in
            # tests/test_console_browser.py::test_the_console_works_under_its_content_security_policy.
            page = browser.new_page(bypass_csp=True)
            page.goto(base + "/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORDS["admin"])
            page.click("button[type=submit]")
            page.wait_for_url(base + "/")
            page.goto(base + "/diaries")
            audio = page.locator(f"audio[data-attachment='{att.id}']")
            src = audio.get_attribute("src")
            answer = page.request.get(base + src)
            assert answer.status == 200
            assert answer.headers["content-type"] == "audio/mpeg"
            body = answer.body()
            assert body[:3] == b"ID3" or body[0] == 0xFF  # an MP3 stream
            # and the browser itself decodes it: the element learns the recording's length
            audio.evaluate("a => { a.preload = 'auto'; a.load(); }")
            page.wait_for_function(
                f"document.querySelector(\"audio[data-attachment='{att.id}']\").duration > 0.5"
            )
        finally:
            browser.close()


def test_voice_diary_entries_count_as_entries_in_the_month_report(world, fake):
    w = world
    chat(w).voice(w.openids["cadre_a"], "今天走访了张大爷家", media_id="voice-diary-2")  # with Recognition
    w.clock.advance(days=1)
    chat(w).voice(w.openids["cadre_a"], "", media_id="voice-diary-3")  # without
    report = json.loads(run_cli(w.lx, "report", "month", "2026-11", "--format", "json").output)
    row = next(c for c in report["cadres"] if c["phone"] == w.phones.get("cadre_a", "13900000001"))
    voice = w.count(DiaryEntry, DiaryEntry.cadre_id == w.ids["cadre_a"], DiaryEntry.source == "voice")
    assert voice == 2
    assert row["diary_entries"] >= voice and row["diary_days"] >= 2
    with w.lx.session() as ses:
        texts = list(ses.scalars(select(DiaryEntry.text).where(DiaryEntry.source == "voice")))
    assert "今天走访了张大爷家" in texts  # Recognition is used when WeChat gives it


@needs_ffmpeg
def test_without_ffmpeg_the_console_says_so_and_offers_the_original(world, fake, tmp_path, monkeypatch):
    w = world
    monkeypatch.setattr(media_job, "ffmpeg_path", lambda: None)
    fake.add_media("voice-diary-4", tiny_amr(tmp_path), "audio/amr")
    chat(w).voice(w.openids["cadre_a"], "", media_id="voice-diary-4")
    dispatch(w)
    att = attachment(w, Attachment.media_type == "voice")
    assert att.stored_path and not Path(att.stored_path).with_suffix(".mp3").exists()
    admin = w.login("admin")
    page = admin.get("/diaries").get_data(as_text=True)
    assert "未安装 ffmpeg" in page and f"/media/{att.id}" in page
    answer = admin.get(f"/media/{att.id}/audio")
    assert answer.status_code == 503 and "ffmpeg" in answer.get_data(as_text=True)
    original = admin.get(f"/media/{att.id}")
    original.close()
    assert original.status_code == 200  # the original AMR is still there


@needs_ffmpeg
def test_a_villagers_voice_reaches_the_cadre_as_itself_once_when_the_window_is_open(world, fake, tmp_path):
    w = world
    cadre, villager = w.openids["cadre_a"], w.openids["villager_a"]
    chat(w).text(cadre, "任务")  # the cadre wrote to us: their 48-hour window is open
    fake.interact(cadre)
    amr = tiny_amr(tmp_path)
    fake.add_media("villager-voice-1", amr, "audio/amr")
    fake.add_media("villager-photo-1", b"\xff\xd8\xff\xe0fakejpeg", "image/jpeg")
    w.clock.advance(minutes=1)
    chat(w).voice(villager, "", media_id="villager-voice-1")
    w.clock.advance(minutes=1)
    chat(w).image(villager, media_id="villager-photo-1")
    dispatch(w)
    dispatch(w)  # a second run sends nothing again
    sent = [d for d in fake.delivered if d.openid == cadre and d.text.startswith(("[voice:", "[image:"))]
    assert sorted(d.text.split(":")[0] for d in sent) == ["[image", "[voice"]
    uploaded = {kind: size for kind, _, size in fake.uploads}
    assert uploaded == {"voice": len(amr), "image": len(b"\xff\xd8\xff\xe0fakejpeg")}
    with w.lx.session() as ses:
        notes = list(
            ses.scalars(
                select(Attachment.forward_note).where(
                    Attachment.owner_type == "request", Attachment.media_type.in_(["voice", "image"])
                )
            )
        )
    assert notes and all(n == "sent" for n in notes)
    # the text push about each request still goes, as always
    assert w.count(OutboxMessage, OutboxMessage.openid == cadre, OutboxMessage.kind == "request") >= 2


@needs_ffmpeg
def test_outside_the_cadres_window_the_voice_is_kept_and_only_the_text_push_goes(world, fake, tmp_path):
    w = world
    cadre, villager = w.openids["cadre_a"], w.openids["villager_a"]
    with w.lx.session() as ses:  # the cadre last wrote to us three days ago: the window is closed
        ses.execute(
            update(WechatIdentity)
            .where(WechatIdentity.openid == cadre)
            .values(**user_window_columns(w.clock() - timedelta(days=3)))
        )
    fake.add_media("villager-voice-2", tiny_amr(tmp_path), "audio/amr")
    chat(w).voice(villager, "", media_id="villager-voice-2")
    dispatch(w)
    att = attachment(w, Attachment.owner_type == "request", Attachment.media_type == "voice")
    assert att.stored_path and "window closed" in att.forward_note
    assert not fake.uploads and not any(d.text.startswith("[voice:") for d in fake.delivered)
    req = w.one(select(VillagerRequest).where(VillagerRequest.id == att.owner_id))
    assert w.count(OutboxMessage, OutboxMessage.idempotency_key == f"request:{req.id}:cadre") == 1
    admin = w.login("admin")
    page = admin.get(f"/requests/{req.id}").get_data(as_text=True)
    assert f'data-attachment="{att.id}"' in page


def test_the_fakes_media_expires_after_three_days_like_wechats(make_lx, fake):
    lx = make_lx(**{"wechat.api_base": fake.url})
    fake.add_media("m-1", b"x", "image/jpeg")
    client = ApiClient(lx)
    try:
        assert client.get_media("m-1").content == b"x"
        fake.advance(3 * 24 * 3600 - 60)
        assert client.get_media("m-1").content == b"x"
        fake.advance(120)
        with pytest.raises(WechatError) as e:
            client.get_media("m-1")
        assert e.value.errcode == 40007
    finally:
        client.close()


def test_an_expired_token_gets_42001_and_the_client_refreshes_it_once(make_lx, fake):
    lx = make_lx(**{"wechat.api_base": fake.url})
    client = ApiClient(lx)
    try:
        assert client.get_menu() is None  # 46003: no menu yet
        fetched = fake.token_fetches
        fake.advance(timedelta(hours=2, seconds=1).total_seconds())  # past expires_in (7200 s)
        assert client.get_menu() is None
        assert ("menu_get", 42001) in fake.calls
        assert fake.token_fetches == fetched + 1
    finally:
        client.close()


@needs_ffmpeg
def test_another_villages_voice_is_not_served_to_a_village_account(world, fake, tmp_path):
    w = world
    fake.add_media("voice-b", tiny_amr(tmp_path), "audio/amr")
    chat(w).voice(w.openids["cadre_b"], "", media_id="voice-b")  # 王芳, 石门村
    dispatch(w)
    att = attachment(w, Attachment.media_type == "voice")
    assert att.stored_path
    refused = w.login("xinqiao").get(f"/media/{att.id}/audio")  # 新桥村's account
    assert refused.status_code in (403, 404)
    allowed = w.login("admin").get(f"/media/{att.id}/audio")
    allowed.close()
    assert allowed.status_code == 200 and allowed.mimetype == "audio/mpeg"
