"""The office's web console (Flask blueprint at /, server-rendered Jinja2, Simplified Chinese).

``register(app, lx)`` configures the session cookie and mounts the blueprint. The views live in
``console/views/*.py``; access rules (roles, village scope, CSRF, session timeout) in ``console/access.py``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import Flask


def register(app: Flask, lx: Any) -> None:
    from console import filters
    from console.web import bp

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
