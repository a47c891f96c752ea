"""Running the web app: werkzeug's threaded server for one worker, gunicorn for several.

The scheduler runs in the serving process (the gunicorn master with several workers, so forks do not
copy it); a lease in the database keeps it to one active scheduler per database anyway. Both servers log each
request's path alone, never its query or a page's token (bot/logs.py).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from gunicorn.app.base import BaseApplication
from werkzeug.serving import run_simple

from bot.app import build, create_app
from bot.logs import GUNICORN_ACCESS_FORMAT, AccessLogHandler, GunicornLogger, QuietAccessLogHandler
from reminders.scheduler import start_background
from storage.runtime import Lianxin
from storage.secrets import secret_key

log = logging.getLogger("lianxin.serve")

# gthread that hands a new connection to the worker holding the fewest, so kept-alive connections spread over the
# workers (bot/workers.py); named as gunicorn's -k option takes it, so bench/inbound.py serves its echo alike.
WORKER_CLASS = "bot.workers.TakeTurnsWorker"


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


DEFAULT_TOKEN = "lianxin-dev-token"  # storage/config.py's default: public in the repository


def check_token(lx: Lianxin) -> None:
    """The default ``[wechat] token`` is printed in this repository, so anyone could sign messages to /wechat as
    WeChat (bind with a stolen code, speak as any openid). With a real account (``app_id`` set) it is refused."""
    wechat = lx.config.wechat
    if wechat.app_id and wechat.token == DEFAULT_TOKEN:
        raise ServeRefused(
            "[wechat] token 仍是示例值 lianxin-dev-token（公开在代码里，任何人都能冒充微信发消息）：请换成公众号后台"
            "“服务器配置”里自己设的 Token（3–32 位字母或数字）/ [wechat] token is still the published example "
            "value: set the Token of the account's server settings"
        )


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port`` (bound as the server will bind: SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def check_port(host: str, port: int, *, again: str = "lianxin serve") -> None:
    """A busy port named, with the option that changes it, before anything says "serving"."""
    if port_in_use(host, port):
        raise ServeRefused(
            f"端口 {port} 已被占用（也许另一个 lianxin 还在运行）：请关掉它，或换一个端口，例如 "
            f"{again} --port {port + 1} / port {port} on {host} is in use: stop what holds it or pass --port"
        )


def _start_scheduler(lx: Lianxin) -> Any:
    return start_background(lx)


def serve(
    lx: Lianxin, *, host: str, port: int, workers: int, scheduler: bool, access_log: bool = True
) -> None:
    """Serve until stopped. ``access_log=False`` (the demo): no line per request, failures still logged."""
    check_token(lx)
    check_workers(lx, workers)
    check_port(host, port)
    if workers <= 1:
        app = create_app(lx)
        sched = _start_scheduler(lx) if scheduler else None
        print(
            f"lianxin: serving on http://{host}:{port}/  (WeChat URL: http://{host}:{port}/wechat)",
            flush=True,
        )
        try:
            handler = AccessLogHandler if access_log else QuietAccessLogHandler
            if not access_log:  # werkzeug's banner ("development server", "Press CTRL+C") is info: the demo's
                logging.getLogger("werkzeug").setLevel(logging.WARNING)  # own lines say where and how to stop
            run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=handler)
        finally:
            if sched is not None:
                sched.shutdown(wait=False)
        return

    config = lx.config

    class _App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", WORKER_CLASS)
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
