"""For tests that run real lianxin processes: their configuration file, and a free loopback port."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support.wechat_client import TEST_TOKEN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, db_url: str, api_base: str, media: Path) -> Path:
    path.write_text(
        f"""
[general]
media_dir = "{media}"
log_level = "WARNING"
[database]
url = "{db_url}"
[wechat]
token = "{TEST_TOKEN}"
app_id = "wxtestappid"
app_secret = "testsecret"
api_base = "{api_base}"
request_timeout_seconds = 5.0
retry_base_seconds = 1
[wechat.templates.task]
id = "TPL_TASK"
[wechat.templates.reminder]
id = "TPL_REMINDER"
[wechat.templates.notice]
id = "TPL_NOTICE"
[wechat.templates.request]
id = "TPL_REQUEST"
[wechat.templates.reply]
id = "TPL_REPLY"
""",
        encoding="utf-8",
    )
    return path
