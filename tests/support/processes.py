"""For tests that run real lianxin processes: their configuration file, and a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
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


def start_lianxin(config: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``lianxin --config CONFIG ARGS…`` as a real process in its own session, its output appended to ``log``."""
    script = Path(sys.executable).with_name("lianxin")
    base = [str(script)] if script.exists() else [sys.executable, "-c", "from bot.cli import main; main()"]
    env = {k: v for k, v in os.environ.items() if k not in ("LIANXIN_DATABASE_URL", "LIANXIN_CONFIG")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [*base, "--config", str(config), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(config.parent),
            start_new_session=True,
        )


def stop_processes(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, then SIGKILL, to each process's whole session (gunicorn's workers go too)."""
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(15)


def wait_until(predicate: Callable[[], bool], what: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll; the limit only keeps a broken run from hanging CI (it is not a timing assertion)."""
    end = time.monotonic() + 120
    while not predicate():
        if proc.poll() is not None or time.monotonic() > end:
            raise AssertionError(f"waiting for {what}\n" + log.read_text(errors="replace")[-3000:])
        time.sleep(0.1)
