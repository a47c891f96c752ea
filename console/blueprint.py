"""The console's Flask blueprint, alone in its module so that views and access rules can attach to it
without importing ``console.web``, which imports them all to mount the blueprint (no import cycle)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "console",
    __name__,
    url_prefix="",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
