"""How the console is put together (console/areas.py): the same URLs as before the areas had blueprints of their
own, every ``url_for`` in templates and views builds, every console route passes the one guard, and endpoints
are named ``console.<module>.<function>`` so that a newcomer finds a view from its name."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, nodes
from werkzeug.routing import AnyConverter, IntegerConverter

from bot.app import create_app
from console import access, areas

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "console" / "templates"
Call = tuple[str, str, bool, set[str]]  # where, endpoint (or its literal prefix), is a prefix, keyword names

# The URL map as it was when the console was one blueprint (every page's address, printed links and tests rely
# on them): (rule, methods other than HEAD and OPTIONS). A new page adds its row here deliberately.
URL_MAP = {
    ("/", ("GET",)),
    ("/accounts", ("GET",)),
    ("/accounts", ("POST",)),
    ("/accounts/<int:user_id>/disable", ("POST",)),
    ("/accounts/<int:user_id>/enable", ("POST",)),
    ("/accounts/<int:user_id>/password", ("POST",)),
    ("/accounts/<int:user_id>/role", ("POST",)),
    ("/password", ("GET",)),
    ("/password", ("POST",)),
    ("/audit", ("GET",)),
    ("/cadres", ("GET",)),
    ("/cadres/<int:cadre_id>", ("GET",)),
    ("/cadres/<int:cadre_id>/bind-code", ("POST",)),
    ("/cadres/<int:cadre_id>/edit", ("POST",)),
    ("/cadres/<int:cadre_id>/handover", ("POST",)),
    ("/cadres/<int:cadre_id>/phone", ("POST",)),
    ("/cadres/<int:cadre_id>/retire", ("POST",)),
    ("/circulars", ("GET",)),
    ("/circulars/<any(month, quarter, year):kind>/<period>.<any(json, xlsx, html, pdf):fmt>", ("GET",)),
    ("/circulars/publish", ("POST",)),
    ("/county", ("GET",)),
    ("/county/download", ("GET",)),
    ("/delivery", ("GET",)),
    ("/delivery/<int:message_id>/retry", ("POST",)),
    ("/delivery/resume", ("POST",)),
    ("/diaries", ("GET",)),
    ("/diaries/book", ("GET",)),
    ("/disputes", ("GET",)),
    ("/healthz", ("GET",)),
    ("/households", ("GET",)),
    ("/insights", ("GET",)),
    ("/practices", ("GET",)),
    ("/practices", ("POST",)),
    ("/households/<int:household_id>", ("GET",)),
    ("/households/new", ("GET",)),
    ("/households/new", ("POST",)),
    ("/households/<int:household_id>/close", ("POST",)),
    ("/households/<int:household_id>/tags", ("POST",)),
    ("/households/<int:household_id>", ("POST",)),
    ("/households/<int:household_id>/link", ("POST",)),
    ("/households/<int:household_id>/unlink", ("POST",)),
    ("/import", ("GET",)),
    ("/import", ("POST",)),
    ("/import/archive", ("GET",)),
    ("/import/archive/<int:archive_id>", ("GET",)),
    ("/import/confirm", ("POST",)),
    ("/import/template.xlsx", ("GET",)),
    ("/leave", ("GET",)),
    ("/leave", ("POST",)),
    ("/leave/<int:leave_id>/<any(approve, refuse):decision>", ("POST",)),
    ("/ledger", ("GET",)),
    ("/ledger/download", ("GET",)),
    ("/login", ("GET", "POST")),
    ("/logout", ("POST",)),
    ("/m/<token>", ("GET",)),
    ("/m/<token>/media/<int:att_id>", ("GET",)),
    ("/media/<int:attachment_id>", ("GET",)),
    ("/media/<int:attachment_id>/audio", ("GET",)),
    ("/offline", ("GET",)),
    ("/offline/households", ("GET",)),
    ("/offline/diary", ("POST",)),
    ("/offline/request", ("POST",)),
    ("/policy", ("GET",)),
    ("/policy", ("POST",)),
    ("/policy/<int:entry_id>/delete", ("POST",)),
    ("/print", ("GET",)),
    ("/print/cards", ("POST",)),
    ("/print/commitments", ("POST",)),
    ("/print/listing", ("POST",)),
    ("/print/orders/<token>", ("GET",)),
    ("/reports", ("GET",)),
    ("/reports/commendations.xlsx", ("GET",)),
    ("/reports/download", ("GET",)),
    ("/reports/full", ("GET",)),
    ("/reports/remarks", ("POST",)),
    ("/requests", ("GET",)),
    ("/requests/<int:number>", ("GET",)),
    ("/requests/<int:number>/close", ("POST",)),
    ("/requests/<int:number>/dispute", ("POST",)),
    ("/requests/<int:number>/dispute/outcome", ("POST",)),
    ("/requests/<int:number>/dispute/parties", ("POST",)),
    ("/requests/<int:number>/dispute/parties/<int:household_id>/remove", ("POST",)),
    ("/requests/<int:number>/dispute/steps", ("POST",)),
    ("/requests/<int:number>/dispute/unmark", ("POST",)),
    ("/requests/<int:number>/reassign", ("POST",)),
    ("/requests/<int:number>/reply", ("POST",)),
    ("/requests/<int:number>/transfer", ("POST",)),
    ("/transfers", ("GET",)),
    ("/transfers/departments", ("POST",)),
    ("/transfers/<int:number>/extension", ("POST",)),
    ("/desk", ("GET",)),
    ("/desk/<int:number>/<any(answer, extension, return, close):step>", ("POST",)),
    ("/simulator", ("GET",)),
    ("/station", ("GET",)),
    ("/station/<int:village_id>/meetings", ("POST",)),
    ("/station/<int:village_id>/unit", ("POST",)),
    ("/station/meetings/<int:meeting_id>/notify", ("POST",)),
    ("/simulator/open", ("POST",)),
    ("/simulator/send", ("POST",)),
    ("/static/<path:filename>", ("GET",)),
    ("/tasks", ("GET",)),
    ("/tasks", ("POST",)),
    ("/tasks/<int:number>", ("GET",)),
    ("/tasks/<int:number>/cadres/<int:cadre_id>", ("GET",)),
    ("/tasks/<int:number>/cadres/<int:cadre_id>/extension", ("POST",)),
    ("/tasks/<int:number>/cadres/<int:cadre_id>/return", ("POST",)),
    ("/tasks/<int:number>/cancel", ("POST",)),
    ("/wechat", ("GET", "POST")),
}

# Served without the console's guard, each by design: the bot's own routes (bot/app.py) and the pages behind
# template messages (console/areas.py OUTSIDE).
UNGUARDED = {"healthz", "wechat_endpoint", "push_links.show", "push_media.media"}
# Inside the console but open without a session (access.PUBLIC_ENDPOINTS).
OPEN_IN_CONSOLE = {"console.login.login", "console.static"}


@pytest.fixture
def app(make_lx: Any) -> Any:
    return create_app(make_lx(**{"console.simulator": True}))


def test_the_url_map_is_the_one_people_and_printed_links_know(app: Any) -> None:
    now = {
        (r.rule, tuple(sorted(r.methods - {"HEAD", "OPTIONS"})))
        for r in app.url_map.iter_rules()  # type: ignore[operator]
    }
    assert now - URL_MAP == set(), "new routes: add them here (and to tests/test_console_access.py ROUTES)"
    assert URL_MAP - now == set(), "routes that disappeared: printed links and bookmarks would break"


# --------------------------------------------------------------------------------------------------
# Every url_for builds: templates (read with Jinja's own parser) and the views' url_for / done / redirect
# --------------------------------------------------------------------------------------------------


def _python_calls() -> list[Call]:
    """The same for the console's Python: url_for("…") and access.done(message, "…", …)."""
    out = []
    for path in sorted((ROOT / "console").rglob("*.py")):
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
                continue
            index = {"url_for": 0, "done": 1}.get(call.func.id)
            if index is None or len(call.args) <= index:
                continue
            arg = call.args[index]
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                continue  # access.done itself passes its argument on
            kws = {k.arg for k in call.keywords if k.arg}
            out.append((f"{path.relative_to(ROOT)}:{call.lineno}", arg.value, False, kws))
    return out


def _dummy(rule: Any, name: str) -> Any:
    conv = rule._converters.get(name)
    if isinstance(conv, IntegerConverter):
        return 1
    if isinstance(conv, AnyConverter):
        return next(iter(conv.items))
    return "x"


def _template_calls_in(directory: Path) -> list[Call]:
    """(where, endpoint or its literal prefix, is a prefix, keyword names) for each url_for in its templates."""
    env = Environment(extensions=["jinja2.ext.do"])
    out = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.suffix not in (".html", ".j2", ".txt"):
            continue
        tree = env.parse(path.read_text(encoding="utf-8"))
        for call in tree.find_all(nodes.Call):
            if not (isinstance(call.node, nodes.Name) and call.node.name == "url_for"):
                continue
            where = f"{path.relative_to(directory)}:{call.lineno}"
            first = call.args[0]
            kws = {k.key for k in call.kwargs}
            if isinstance(first, nodes.Const):
                out.append((where, first.value, False, kws))
            elif isinstance(first, nodes.Add) and isinstance(first.left, nodes.Const):
                out.append((where, first.left.value, True, kws))
            else:
                raise AssertionError(f"{where}: url_for with an endpoint this test cannot read")
    return out


def unbuildable(app: Any, calls: list[Call]) -> list[str]:
    """The calls whose url_for does not build: no such endpoint, or a required argument missing."""
    from flask import url_for  # noqa: PLC0415 - only inside a request context

    rules: dict[str, list[Any]] = {}
    for r in app.url_map.iter_rules():
        rules.setdefault(r.endpoint, []).append(r)
    failures = []
    with app.test_request_context("/"):
        for where, name, prefix, kws in calls:
            endpoints = [e for e in rules if e.startswith(name)] if prefix else [name]
            if not endpoints or not all(e in rules for e in endpoints):
                failures.append(f"{where}: no endpoint {name!r}{'…' if prefix else ''}")
                continue
            built, errors = 0, []
            for endpoint in endpoints:
                rule = rules[endpoint][0]
                try:
                    url_for(endpoint, **{k: _dummy(rule, k) for k in kws})
                    built += 1
                except Exception as e:  # noqa: BLE001 - every failure is listed below
                    errors.append(f"{where}: url_for({endpoint!r}, {sorted(kws)}): {e.__class__.__name__}")
            # a literal endpoint must build; 'console.printing.print_' + kind: some endpoint of that prefix
            if errors and (not prefix or not built):
                failures += errors
    return failures


def test_every_url_for_in_templates_and_views_builds(app: Any) -> None:
    calls = _template_calls_in(TEMPLATES) + _python_calls()
    assert len(calls) > 100  # the parsers found the calls (115 in templates alone when this was written)
    failures = unbuildable(app, calls)
    assert not failures, "\n".join(failures)


def test_a_stale_endpoint_or_a_missing_argument_in_a_template_is_found(tmp_path: Path, app: Any) -> None:
    (tmp_path / "page.html").write_text(
        "<a href=\"{{ url_for('console.cadre', cadre_id=c.id) }}\">old name</a>\n"
        "<a href=\"{{ url_for('console.cadres.cadre') }}\">no id</a>\n"
        "<a href=\"{{ url_for('console.cadres.cadre', cadre_id=c.id) }}\">fine</a>\n",
        encoding="utf-8",
    )
    found = unbuildable(app, _template_calls_in(tmp_path))
    assert found == [
        "page.html:1: no endpoint 'console.cadre'",
        "page.html:2: url_for('console.cadres.cadre', []): BuildError",
    ]


# --------------------------------------------------------------------------------------------------
# One guard for every area
# --------------------------------------------------------------------------------------------------


def test_every_route_is_behind_the_console_guard_or_declared_outside(app: Any) -> None:
    assert app.before_request_funcs.get("console") == [access.guard]
    assert not any(name != "console" for name in app.before_request_funcs if name is not None), (
        "an area with a guard of its own: access rules stay one mechanism (access.guard)"
    )
    outside = {r.endpoint for r in app.url_map.iter_rules() if not r.endpoint.startswith("console.")}
    assert outside == UNGUARDED
    assert access.PUBLIC_ENDPOINTS == OPEN_IN_CONSOLE


def test_endpoints_are_named_after_their_module_and_function(app: Any) -> None:
    for endpoint, view in app.view_functions.items():
        if not endpoint.startswith("console.") or endpoint == "console.static":
            continue
        module = inspect.getmodule(view)
        assert module is not None
        assert endpoint == f"console.{module.__name__.rsplit('.', 1)[1]}.{view.__name__}", endpoint


def test_every_area_is_mounted_once() -> None:
    names = [bp.name for bp in areas.AREAS + areas.OUTSIDE]
    assert len(names) == len(set(names))
    mounted = {m for m in re.findall(r"^\s+(\w+)\.bp,$", Path(areas.__file__).read_text(), re.M)}
    views = {p.stem for p in (ROOT / "console" / "views").glob("*.py")} - {"__init__", "common", "reporting"}
    assert views <= mounted, f"view modules not in console/areas.py: {views - mounted}"


def _fill(rule: Any) -> str:
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<[^>]*:?{name}>", str(_dummy(rule, name)), url)
    return url


def test_without_a_session_every_console_route_asks_for_login(app: Any) -> None:
    """Not only the routes someone listed: every route of every area, read from the URL map."""
    c = app.test_client()
    c.get("/login")
    with c.session_transaction() as sess:
        token = sess["csrf"]
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or rule.endpoint in OPEN_IN_CONSOLE:
            continue
        url = _fill(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                r = c.get(url)
            else:
                assert c.post(url, data={}).status_code == 400, f"POST {url} without CSRF"
                r = c.post(url, data={"csrf_token": token})
            assert r.status_code == 302 and "/login" in r.headers["Location"], (
                f"{method} {url}: {r.status_code}"
            )
            checked += 1
    assert checked > 60
