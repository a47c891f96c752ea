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
    accounts,
    audit,
    cadre_changes,
    cadres,
    circulars,
    county,
    dashboard,
    delivery,
    diaries,
    diary_book,
    disputes,
    household_accounts,
    household_register,
    households,
    importing,
    insights,
    leave,
    ledger,
    offline,
    policy,
    printing,
    remarks,
    reports,
    simulator,
    station,
    station_desk,
    tasks,
    transfers,
    villager_requests,
)

AREAS: tuple[Blueprint, ...] = (
    # signing in and out (the only pages open without a session: /login, and the static files)
    login.bp,
    # 总览
    dashboard.bp,
    # people: 干部, 农户 and the WeChat accounts linked to them
    cadres.bp,
    # 交接, 退出, 改电话, 更正 on the cadre's page (the office's)
    cadre_changes.bp,
    households.bp,
    household_register.bp,
    household_accounts.bp,
    # work: 督办卡, 群众诉求, 线下补录, 请假, 民情日记 (and their photos and voice)
    tasks.bp,
    villager_requests.bp,
    # 矛盾调解 (its forms sit on the request's page)
    disputes.bp,
    # 民情热点 (民情分析 of a month)
    insights.bp,
    # 动员会, 单位办点, 好经验好做法 (the seed's remaining pieces)
    station.bp,
    # 转办: the departments and the board of requests with them; a department's own desk (role department)
    transfers.bp,
    station_desk.bp,
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
    # the office's tools: 导入, 惠农政策, 账号
    importing.bp,
    policy.bp,
    # 账号 (the office's console accounts) and 修改密码 (everyone's own)
    accounts.bp,
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

ERROR_CODES = (400, 403, 404, 429)


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
    for code in ERROR_CODES:
        app.register_error_handler(code, errors.error_page)
