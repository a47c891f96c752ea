"""The console's areas, in one list: every page of the site is mounted here and nowhere else (as
handlers/routing.py orders the chat's routers).

Each view module exports its Flask blueprint ``bp``, named after the module; ``mount(app)`` registers them.

- **The console** (``AREAS``): every area is registered inside one blueprint, ``console``, which carries what
  all of them pass through: ``access.guard`` before every request (refused input, CSRF, login, read-only accounts,
  the simulator's switch), the templates' globals, and the static files. A view's endpoint is therefore
  ``console.<module>.<function>`` (``url_for("console.cadres.cadre", cadre_id=…)``), and a route added to any
  area is behind the guard without further wiring. Per-view rules (``admin_only``, ``writers``,
  ``deployment_only``, the scope checks) are decorators and calls from console/access.py.
- **Outside the console** (``OUTSIDE``): the pages behind template messages, under ``[general] public_url``
  (``/m/<token>``), opened by villagers and cadres without a console account: no login, no CSRF, their own
  rules (console/push_links.py).

The error pages (console/errors.py) answer for the whole site. tests/test_console_wiring.py pins the URL map and
that every ``url_for`` in templates and views resolves; tests/test_console_access.py holds every route in a
route × role table and fails on a route that is not in it.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from console import access, errors, login, push_links, push_media
from console.views import (
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

AREAS: tuple[Blueprint, ...] = (
    # signing in and out (the only pages open without a session: /login, and the static files)
    login.bp,
    # 总览
    dashboard.bp,
    # people: 干部, 农户 and the WeChat accounts linked to them
    cadres.bp,
    households.bp,
    household_accounts.bp,
    # work: 督办卡, 群众诉求, 线下补录, 请假, 民情日记 (and their photos and voice)
    tasks.bp,
    villager_requests.bp,
    offline.bp,
    leave.bp,
    diaries.bp,
    # reports: 考核 and its remarks, 已发布的通报, 全县排名, 五个一台账, 民情日记本
    reports.bp,
    remarks.bp,
    circulars.bp,
    county.bp,
    ledger.bp,
    diary_book.bp,
    # printing: service cards and the public listing
    printing.bp,
    # the office's tools: 导入, 惠农政策
    importing.bp,
    policy.bp,
    # the deployment's: 推送问题, 审计, 模拟聊天 (on only where [console] simulator is)
    delivery.bp,
    audit.bp,
    simulator.bp,
)

OUTSIDE: tuple[Blueprint, ...] = (
    # /m/<token> and its media: the whole message behind a template message, for its recipient
    push_links.bp,
    push_media.bp,
)


def console_blueprint() -> Blueprint:
    """The console for one app: a fresh parent each time (a blueprint takes no more children once mounted, and
    tests build many apps), holding every area behind the one guard."""
    console = Blueprint(
        "console",
        __name__,
        url_prefix="",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    console.before_request(access.guard)
    console.app_context_processor(access.template_globals)
    for area in AREAS:
        console.register_blueprint(area)
    return console


def mount(app: Flask) -> None:
    app.register_blueprint(console_blueprint())
    for page in OUTSIDE:
        app.register_blueprint(page)
    errors.install(app)  # every error code, and the form-error globals (typed, field_error)
