"""What every console response says to the browser (issue 21 item 15): no framing by another site, no MIME
sniffing, a Content-Security-Policy the console's own pages work under (tests/test_console_browser.py checks
them in Chromium), photos and voice private to whoever asked, the cookie Secure when users come over https."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import create_app
from storage import tasks
from storage.models import Attachment, Feedback
from tests.support.console_world import (
    Client,
    World,
    build_world,
    world_fixture,  # noqa: F401 - the `world` fixture
)

PAGES = ["/", "/households", "/cadres", "/requests/1", "/reports", "/tasks", "/audit"]


def _framing_refused(r: Any) -> None:
    assert r.headers["X-Frame-Options"] == "DENY"
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "object-src 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]  # no inline script
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_console_pages_refuse_framing_and_sniffing(world: World) -> None:
    stranger = Client(world.app.test_client())
    _framing_refused(stranger.get("/login"))
    _framing_refused(stranger.get("/"))  # the redirect to the login page too
    _framing_refused(stranger.get("/m/no-such-link"))
    admin = world.login("admin")
    for url in PAGES:
        r = admin.get(url)
        assert r.status_code == 200, url
        _framing_refused(r)
        assert "private" in r.headers.get("Cache-Control", ""), url
    # the whole report is framed by /reports, on this site only
    r = admin.get("/reports/full?kind=month&period=2026-11")
    assert r.status_code == 200
    assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]


def test_photos_and_voice_are_private_to_whoever_asked(world: World) -> None:
    with world.lx.session() as s:
        a = tasks.feedback(
            s, cadre_id=world.ids["cadre_a"], number=world.ids["task"], text="见照片", now=world.clock()
        )
        fb = s.scalar(select(Feedback).where(Feedback.assignment_id == a.id))
        media = Path(world.lx.config.general.media_dir)
        media.mkdir(parents=True, exist_ok=True)
        (media / "p1.jpg").write_bytes(b"\xff\xd8\xff fake jpeg")
        att = Attachment(
            owner_type="feedback",
            owner_id=fb.id,
            media_type="image",
            stored_path="p1.jpg",
            content_type="image/jpeg",
        )
        s.add(att)
        s.flush()
        aid = att.id
    r = world.login("admin").get(f"/media/{aid}")
    assert r.status_code == 200
    cc = r.headers["Cache-Control"]
    assert "private" in cc and "public" not in cc
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    r.close()


def test_the_cookie_is_secure_when_users_come_over_https(make_lx: Any, clock: Any) -> None:
    w = build_world(make_lx(**{"wechat.public_url": "https://lianxin.example.gov.cn"}), clock)
    r = Client(w.app.test_client()).login("admin", "admin-pass-1")
    cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    plain = create_app(make_lx(**{"wechat.public_url": "http://127.0.0.1:8000"}))
    r = Client(plain.test_client()).login("admin", "admin-pass-1")
    assert "Secure" not in r.headers["Set-Cookie"]  # a plain-http trial (lianxin demo) still logs in
