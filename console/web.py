"""The console blueprint; the views register themselves on it when their modules are imported.

``register(app, lx)`` configures the session cookie and mounts the blueprint.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Blueprint, Flask

from storage.runtime import Lianxin

bp = Blueprint("console", __name__, url_prefix="", template_folder="templates",
               static_folder="static", static_url_path="/static")

from console import access, filters  # noqa: E402,F401  - access: before_request hooks
from console.views import (  # noqa: E402,F401
    audit,
    cadres,
    dashboard,
    delivery,
    diaries,
    households,
    importing,
    ledger,
    policy,
    printing,
    reports,
    requests,
    simulator,
    tasks,
)


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
