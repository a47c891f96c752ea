"""Mounting the console: importing the views attaches their routes to the blueprint (console/blueprint.py).

``register(app, lx)`` configures the session cookie and mounts the blueprint.

The cookie's signing key is the deployment's (storage/secrets.py): ``[console] secret_key``, else the key
``lianxin init`` kept in the database, so every worker reads the same. With neither (a database never given
``lianxin init``), this process draws its own: fine for one process, and ``serve --workers N`` refuses to start.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import Flask, Response, request
from sqlalchemy.exc import SQLAlchemyError

from console import access, filters, login, push_links, push_media  # noqa: F401  - access: before_request hooks
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
from storage.secrets import secret_key

log = logging.getLogger("lianxin.console")


# What the console's own pages need and nothing more: its script and styles (inline style attributes are used
# for bars and widths), photos (and the diary book's data: images), voice, its own forms and frames.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
)
FRAMED_BY_SELF = {"console.report_full"}  # the whole report, shown in a frame on /reports


def security_headers(resp: Response) -> Response:
    """Every response (issue 21 item 15): no framing by other sites (clickjacking), no MIME sniffing, the CSP
    above; pages and files are private to whoever asked (no shared cache keeps villagers' data)."""
    own = request.endpoint in FRAMED_BY_SELF
    resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN" if own else "DENY")
    resp.headers.setdefault("Content-Security-Policy", CSP.format(ancestors="'self'" if own else "'none'"))
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "console.static":
        cc = resp.cache_control
        if cc.public:  # Flask's send_file marks files public when given a max_age (photos and voice)
            cc.public = False
        if not cc.private and not cc.no_store:
            cc.private = True
    return resp


def _shared_key(lx: Lianxin) -> str | None:
    try:
        with lx.session() as s:
            return secret_key(s, configured=lx.config.console.secret_key)
    except SQLAlchemyError:  # a schema older than the key's table: `lianxin init` upgrades it and makes one
        return lx.config.console.secret_key or None


def register(app: Flask, lx: Lianxin) -> None:
    cfg = lx.config.console
    key = _shared_key(lx)
    if key is None:
        log.warning(
            "no [console] secret_key and none kept in the database: this process made its own "
            "(run `lianxin init` so that every worker shares one)"
        )
    app.secret_key = key or secrets.token_hex(32)
    app.config["SECRET_KEY_SHARED"] = key is not None
    app.config.update(
        SESSION_COOKIE_NAME="lianxin_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Secure whenever users reach the product over https (also when secure_cookies was forgotten)
        SESSION_COOKIE_SECURE=bool(cfg.secure_cookies) or lx.config.public_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=cfg.session_minutes),
    )
    filters.install(app)
    app.after_request(security_headers)
    app.register_blueprint(bp)
    app.register_blueprint(push_links.links)  # /m/<token>: no login, outside the console's guard
