"""The console blueprint; the views register themselves on it when their modules are imported."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="", template_folder="templates",
               static_folder="static", static_url_path="/static")

from console import access  # noqa: E402,F401  - before_request hooks
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
