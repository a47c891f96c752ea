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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, g, has_request_context, request, url_for

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


# --------------------------------------------------------------------------------------------------
# The menu: every page a clerk reaches from the navigation, grouped as the areas above, in one place. A new page
# adds one line to its group (its label, its endpoint, who sees it: one of the predicates of console/access.py);
# the page itself still checks who may open it (an entry only hides a link). base.html draws it: a sidebar on a
# desktop, a folded list of collapsible groups on a phone (console/static/console.css, console.js).
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    label: str
    endpoint: str
    who: Callable[[access.User], bool] = access.anyone
    # other areas whose pages count as this entry's (the entry is marked current on them)
    also: tuple[str, ...] = ()

    @property
    def areas(self) -> tuple[str, ...]:
        return (self.endpoint.rsplit(".", 1)[0], *self.also)


@dataclass(frozen=True)
class Group:
    label: str  # "" for entries shown without a heading (总览)
    entries: tuple[Entry, ...] = field(default_factory=tuple)


MENU: tuple[Group, ...] = (
    Group("", (Entry("总览", "console.dashboard.dashboard"),)),
    Group(
        "人员",
        (
            Entry("干部", "console.cadres.cadres"),
            Entry("农户", "console.households.households", also=("console.household_accounts",)),
        ),
    ),
    Group(
        "日常工作",
        (
            Entry("督办卡", "console.tasks.tasks"),
            Entry("诉求", "console.villager_requests.requests_inbox"),
            Entry("转办", "console.transfers.transfers_board", access.office_or_leader),
            Entry("本部门诉求", "console.station_desk.desk", access.department),
            Entry("调解", "console.disputes.disputes_list"),
            Entry("日记", "console.diaries.diaries", also=("console.diary_book",)),
            Entry("请假", "console.leave.leave_page"),
            Entry("线下补录", "console.offline.offline_page", access.writer),
        ),
    ),
    Group(
        "考核",
        (
            Entry("考核", "console.reports.reports", also=("console.remarks",)),
            Entry("已发布的通报", "console.circulars.circulars_page"),
            Entry("全县排名", "console.county.county", access.county_office),
            Entry("台账", "console.ledger.ledger"),
            Entry("民情热点", "console.insights.insights_page"),
        ),
    ),
    Group(
        "办公室",
        (
            Entry("打印", "console.printing.print_index", access.writer),
            Entry("导入", "console.importing.import_form", access.office),
            Entry("政策", "console.policy.policy"),
            Entry("动员会", "console.station.station_page"),
            Entry("好经验", "console.station.practices_page"),
            Entry("账号", "console.accounts.accounts", access.office),
        ),
    ),
    Group(
        "系统",
        (
            Entry("推送问题", "console.delivery.delivery", access.deployment),
            Entry("审计", "console.audit.audit_log", access.deployment),
            Entry("模拟聊天", "console.simulator.simulator", access.simulator),
        ),
    ),
)


@dataclass(frozen=True)
class Shown:
    """One group of the menu as one user sees it on one page."""

    label: str
    entries: tuple[tuple[str, str, bool], ...]  # (label, address, is it the current page's)

    @property
    def current(self) -> bool:
        return any(here for _, _, here in self.entries)


def menu_for(user: access.User, area: str | None) -> list[Shown]:
    """The groups ``user`` sees (a group none of whose entries they see is left out), marking the entry of
    the page in ``area`` (a request's blueprint, ``console.tasks``)."""
    shown = []
    for group in MENU:
        entries = tuple((e.label, url_for(e.endpoint), area in e.areas) for e in group.entries if e.who(user))
        if entries:
            shown.append(Shown(group.label, entries))
    return shown


def menu_globals() -> dict[str, Any]:
    u = g.get("user") if has_request_context() else None
    return {"menu": menu_for(u, request.blueprint) if u is not None else []}


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
    console.app_context_processor(menu_globals)
    for area in AREAS:
        console.register_blueprint(area)
    return console


def mount(app: Flask) -> None:
    app.register_blueprint(console_blueprint())
    for page in OUTSIDE:
        app.register_blueprint(page)
    errors.install(app)  # every error code, and the form-error globals (typed, field_error)
