"""Mounting the console: importing the views attaches their routes to the blueprint (console/blueprint.py).

``register(app, lx)`` configures the session cookie and mounts the blueprint.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Flask

from console import access, filters, push_links, push_media  # noqa: F401  - access: before_request hooks
from console.blueprint import bp
from console.views import (  # noqa: F401  - importing a view module attaches its routes
    audit,
    cadres,
    circulars,
    county,
    dashboard,
    delivery,
    diaries,
    diary_book,
    household_accounts,
    households,
    importing,
    leave,
    ledger,
    offline,
    policy,
    printing,
    remarks,
    reports,
    simulator,
    tasks,
    villager_requests,
)
from storage.runtime import Lianxin


def register(app: Flask, lx: Lianxin) -> None:
    cfg = lx.config["console"]
    app.secret_key = cfg["secret_key"] or secrets.token_hex(32)
    app.config.update(
        SESSION_COOKIE_NAME="lianxin_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(cfg["secure_cookies"]),
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=cfg["session_minutes"]),
    )
    filters.install(app)
    app.register_blueprint(bp)
    app.register_blueprint(push_links.links)  # /m/<token>: no login, outside the console's guard
