"""Running the web app: werkzeug's threaded server for one worker, gunicorn for several.

The scheduler runs in the serving process (the gunicorn master with several workers, so forks do not
copy it); a lease in the database keeps it to one active scheduler per database anyway. Both servers log each
request's path alone, never its query or a page's token (bot/logs.py).
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.app.base import BaseApplication
from werkzeug.serving import run_simple

from bot.app import build, create_app
from bot.logs import GUNICORN_ACCESS_FORMAT, AccessLogHandler, GunicornLogger
from reminders.scheduler import start_background
from storage.runtime import Lianxin
from storage.secrets import secret_key

log = logging.getLogger("lianxin.serve")


class ServeRefused(Exception):
    """The deployment cannot be served as asked; the message says what to do."""


def check_workers(lx: Lianxin, workers: int) -> None:
    """Several workers need one session key between them (issue 22 item 1): each drawing its own logged users
    out at random. Refused unless ``[console] secret_key`` is set or ``lianxin init`` kept one in the database."""
    if workers <= 1:
        return
    with lx.session() as s:
        key = secret_key(s, configured=lx.config.console.secret_key)
    if key is None:
        raise ServeRefused(
            f"--workers {workers} 需要所有进程共用的会话密钥，但配置 [console] secret_key 为空，数据库中也没有："
            "请先运行 `lianxin init`（会生成并保存一个）/ several workers need a shared session key: "
            "run `lianxin init` (it makes one and keeps it in the database), or set [console] secret_key"
        )


def _start_scheduler(lx: Lianxin) -> Any:
    return start_background(lx)


def serve(lx: Lianxin, *, host: str, port: int, workers: int, scheduler: bool) -> None:
    check_workers(lx, workers)
    if workers <= 1:
        app = create_app(lx)
        sched = _start_scheduler(lx) if scheduler else None
        print(
            f"lianxin: serving on http://{host}:{port}/  (WeChat URL: http://{host}:{port}/wechat)",
            flush=True,
        )
        try:
            run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=AccessLogHandler)
        finally:
            if sched is not None:
                sched.shutdown(wait=False)
        return

    config = lx.config

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 4)
            self.cfg.set("timeout", 30)
            self.cfg.set("accesslog", "-")
            self.cfg.set("access_log_format", GUNICORN_ACCESS_FORMAT)
            self.cfg.set("logger_class", GunicornLogger)
            if scheduler:
                self.cfg.set("when_ready", lambda _server: _start_scheduler(lx))

        def load(self) -> Any:
            # Each worker builds its own engine: connections must not cross a fork.
            return create_app(build(config, clock=lx.clock))

    print(f"lianxin: serving on http://{host}:{port}/ with {workers} workers", flush=True)
    _App().run()
