"""Logs hold no phone or card numbers, no console search terms, no page tokens, no ``/wechat`` signatures and no
API credentials (issue 21 item 10; PRODUCT.md "Safe to run for real").

Checked on what real servers write: ``lianxin serve`` with werkzeug's server (one worker) and with gunicorn
(two workers), at DEBUG, while a browser searches the console for a phone number and a health word, opens a
push's page, a forger posts a signed-looking query to ``/wechat``, and the scheduler sends a push through the
(fake) WeChat API with its access token.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from bot.logs import RedactingFormatter
from storage.outbox import enqueue
from storage.push_links import create_link
from storage.redact import mask_personal_numbers, redact
from storage.secrets import ensure_secret_key
from storage.timestamps import utcnow
from tests.fake_wechat import FakeWechat
from tests.support.factories import Factory
from tests.support.processes import free_port, start_lianxin, stop_processes, wait_until, write_config

PHONE, CARD, WORD = "13812345678", "20261124", "心脏病"
FORGED = {
    "signature": "deadbeefcafe",
    "timestamp": "1764000000",
    "nonce": "n0nce9876",
    "openid": "o-secret-id",
}


@pytest.fixture
def served_world(lx: Any, tmp_path: Path) -> Any:
    with FakeWechat() as fake:
        now = utcnow()  # the served process runs on real time: the page's link must be alive then
        with lx.session() as s:
            f = Factory(s)
            cadre = f.cadre(name="李明", phone="13900001111")
            f.household(cadre, head_name="张大爷", card=CARD, head_phone=PHONE)
            f.identity("o-li", cadre=cadre)
            ensure_secret_key(s, now=now)  # as `lianxin init`: gunicorn's two workers need it
            token = create_link(
                s, outbox_id=None, openid="o-li", kind="notice", payload={"text": "通知"}, now=now, days=7
            )
            enqueue(
                s,
                openid="o-li",
                kind="notice",
                text="测试通知",
                key="log-test",
                template={"title": "测试", "text": "测试通知", "time": "2026年11月24日 10:00"},
            )
        config = write_config(tmp_path / "config.toml", lx.config.database_url, fake.url, tmp_path / "media")
        text = config.read_text(encoding="utf-8").replace('log_level = "WARNING"', 'log_level = "DEBUG"')
        config.write_text(text + "\n[scheduler]\ndispatch_interval_seconds = 1\n", encoding="utf-8")
        yield fake, config, token


@pytest.mark.parametrize("workers", [1, 2], ids=["werkzeug", "gunicorn"])
def test_a_served_request_leaves_no_number_token_or_signature_in_the_log(
    served_world: Any, tmp_path: Path, workers: int
) -> None:
    fake, config, token = served_world
    log, port = tmp_path / "serve.log", free_port()
    proc = start_lianxin(config, log, "serve", "--port", str(port), "--workers", str(workers))
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(base + "/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(up, "the server", proc, log)
        http = requests.Session()
        assert http.get(f"{base}/households?q={PHONE}", allow_redirects=False).status_code == 302
        http.get(f"{base}/households?q={quote(WORD)}&card={CARD}", allow_redirects=False)
        http.get(f"{base}/login?next={quote('/households?q=' + PHONE, safe='')}")
        assert http.get(f"{base}/m/{token}?from={PHONE}", allow_redirects=False).status_code in (200, 302)
        http.get(f"{base}/m/{token}-not-a-real-one")
        r = http.post(f"{base}/wechat", params=FORGED, data=b"<xml></xml>")
        assert r.status_code == 403
        wait_until(lambda: bool(fake.delivered), "the push through the API", proc, log)
    finally:
        stop_processes([proc])
    written = log.read_text(errors="replace")
    assert "/households" in written and "/wechat" in written and "/m/" in written  # the access log is there
    assert (
        "access_token" in written or "custom/send" in written or "template/send" in written
    )  # API calls too
    secrets = [PHONE, CARD, WORD, quote(WORD), token, *FORGED.values(), "testsecret", *fake.tokens]
    leaked = [s for s in secrets if s in written]
    assert not leaked, f"in the log: {leaked}\n" + "\n".join(
        line for line in written.splitlines() if any(s in line for s in leaked)
    )


@pytest.mark.parametrize(
    ("line", "gone"),
    [
        ('127.0.0.1 - - "GET /households?q=13812345678 HTTP/1.1" 200 -', ["13812345678"]),
        ('"GET /m/Zx9_kL-0aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789ab HTTP/1.1" 200', ["Zx9_kL-0aBcDeF"]),
        (
            'https://api.weixin.qq.com:443 "POST /cgi-bin/message/template/send?access_token=TOKEN123 HTTP/1.1"',
            ["TOKEN123"],
        ),
        (
            "GET /sns/oauth2/access_token?appid=wx1&secret=SECRET9&code=CODE7&grant_type=x",
            ["SECRET9", "CODE7"],
        ),
        ("ConnectionError: Max retries exceeded with url: /x?access_token=T0K (Caused by …)", ["T0K"]),
        ("refused /wechat signature=abc123 nonce=xyz789 openid=o-hidden", ["abc123", "xyz789", "o-hidden"]),
        ('{"access_token": "TKN", "expires_in": 7200}', ["TKN"]),
        ("身份证 11010519491231002X 卡号 20261124", ["11010519491231002X", "20261124"]),
    ],
)
def test_redaction_of_a_log_line(line: str, gone: list[str]) -> None:
    out = redact(line)
    assert not [g for g in gone if g in out], out


def test_every_lianxin_handler_redacts_whoever_logs() -> None:
    record = logging.LogRecord(
        "urllib3.connectionpool",
        logging.DEBUG,
        __file__,
        1,
        '"%s %s" %s',
        ("POST", "/x?access_token=S3", 200),
        None,
    )
    assert "S3" not in RedactingFormatter().format(record)


def test_masking_personal_numbers_keeps_the_rest() -> None:
    assert mask_personal_numbers("请回电 13812345678，谢谢") == "请回电 138****5678，谢谢"
    assert "110105194912310021" not in mask_personal_numbers("身份证号 110105194912310021")
    assert mask_personal_numbers("2026年11月24日 共 3 人") == "2026年11月24日 共 3 人"
    assert mask_personal_numbers("消息 1234567890123456789") == "消息 1234567890123456789"  # longer runs stay
