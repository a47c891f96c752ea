"""The app factory: one ``Lianxin`` object (config, engine, sessions, clock) and the Flask app around it.

The only module that wires the layers together: it hands the lower layers what they call upwards without
importing it (the outbound WeChat client for delivery, the signed /wechat POST for the console's simulator,
WeChat's web OAuth for the pages behind template messages).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text
from werkzeug.routing import IntegerConverter, Map

from bot.wechat import endpoint, oauth
from bot.wechat.api import WechatClient
from console import web as console_web
from console.documents import report as report_document
from handlers import wording
from reminders import delivery, holds
from storage.config import Config, load_config
from storage.db import make_engine, read_only
from storage.runtime import Lianxin
from storage.timestamps import utcnow

log = logging.getLogger("lianxin")


def build(config: Config | None = None, *, clock: Callable[[], datetime] | None = None) -> Lianxin:
    config = config or load_config()
    engine = make_engine(config.database_url, echo=config.database.echo, pool_size=config.database.pool_size)
    clock = clock or utcnow  # real time: the product runs on the wall clock; tests hand in their FakeClock
    lx = Lianxin(config=config, engine=engine, clock=clock)
    lx.wechat_api = partial(WechatClient, lx)
    lx.render_report = report_document.render
    lx.words = wording.WORDING
    return lx


class DatabaseIntConverter(IntegerConverter):
    """Werkzeug's ``int`` converter bounded to what our ids are: INTEGER primary keys, 32 bits on PostgreSQL
    (a larger number there is "integer out of range", a 500 — CI caught it on PostgreSQL only)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(lx: Lianxin | Config | None = None) -> Flask:
    """The WSGI app: /wechat (the bot), /healthz, and the console at /."""
    if not isinstance(lx, Lianxin):
        lx = build(lx)
    app = Flask("lianxin", static_folder=None)
    # Before any route: an id no database column can hold (<int:…> past 2**31 - 1) is a page that does not
    # exist (404), not a driver's OverflowError (500).
    app.url_map.converters["int"] = DatabaseIntConverter
    app.config["LIANXIN"] = lx
    app.config["MAX_CONTENT_LENGTH"] = max(lx.config.wechat.max_body_bytes, 16 * 1024 * 1024)

    @app.get("/healthz")
    def healthz() -> Any:
        try:
            with read_only(lx.engine).connect() as conn:  # never queues behind a writer
                conn.execute(text("SELECT 1"))
        except Exception as e:  # noqa: BLE001 - a health check reports, it does not raise
            return jsonify({"status": "error", "database": str(e.__class__.__name__)}), 503
        # 200 while serving: held delivery is the account's fault, not the process's; monitoring alerts on
        # "delivery" != "ok" (docs/pushes.md)
        held = holds.current(lx)
        paused = delivery.paused_until(lx)
        return jsonify(
            {
                "status": "ok",
                "delivery": "held" if held else "paused" if paused else "ok",
                "holds": [
                    {
                        "scope": h.scope,
                        "errcode": h.errcode,
                        "reason": h.why,
                        "todo": h.todo,
                        "since": h.since.isoformat(),
                        "next_probe_at": h.next_probe_at.isoformat(),
                    }
                    for h in held
                ],
                **({"paused_until": paused.isoformat()} if paused else {}),
            }
        )

    endpoint.register(app, lx)
    console_web.register(app, lx)
    app.config["WECHAT_POST"] = partial(endpoint.post_signed, app, lx)  # the console's chat simulator
    app.config["PAGE_OAUTH"] = oauth.page_oauth(lx)  # who opens a push's page (None: the link alone)
    return app
