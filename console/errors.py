"""The error pages people see, and forms that fail without losing what was typed (docs/architecture.md
"Error pages and form errors"). console/areas.py installs ``error_page`` for every code in ERROR_CODES on the
whole app; /wechat keeps Flask's own answers (WeChat reads no pages).

- Every error (400, 403, 404, 405, 413, 429, 500) is a page in the console's own layout, in Chinese, with a way
  back: the page the person came from, else the nearest page above the address (``/print/cards`` → ``/print``),
  else the dashboard. A 405 is what a reopened tab of a POST's result meets: it says so.
- A form that fails: a view raises ``form_error("…", field="text")`` (or ``abort(400, description=…)``, which
  works the same with no field). For a signed-in person's POST from a console page, the page the form came from
  (its Referer, matched to a GET route of this app) is rendered again, answering 400, with the message on top
  and the typed values back in the form: templates fill their fields with ``typed('name', default)`` and show a
  field's message with ``field_error('name')`` (globals installed here). Where the page cannot be rendered
  again (no Referer, a CSRF failure before sign-in …), the error page shows the longer texts typed, to copy.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Flask, current_app, flash, g, render_template, request, session
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError

from console import access

log = logging.getLogger(__name__)

ERROR_CODES = (400, 403, 404, 405, 413, 429, 500)
TITLES = {
    400: "请求无效",
    403: "没有权限",
    404: "找不到该记录",
    405: "页面不能这样打开",
    413: "上传的文件太大",
    429: "操作太频繁",
    500: "系统出错了",
}
MESSAGES = {
    403: "您的账号没有这项操作的权限。如需办理，请联系办公室管理员。",
    404: "该记录不存在，或不在您的权限范围内。",
    405: "这个地址是页面上按钮提交后才用的（例如重新打开了已打印页面的标签页），不能直接打开。请从下面的链接回到原页面重新操作。",
    413: "上传的文件超过了允许的大小，请缩小文件（如分成几个文件）后重试。",
    429: "短时间内操作次数过多，请稍等一会儿再试。",
    500: "系统处理这个请求时出错了，已记入日志。请稍后重试；如果一再出现，请联系技术支持并说明操作的时间。",
}
# pages never rendered again for a failed form: showing them does something (a print is audited as printed)
NOT_AGAIN = {"console.printing.print_order"}
# typed values shown on an error page to copy: texts at least this long (a complaint, a reply, a diary)
LONG_TEXT = 20


class FormError(BadRequest):
    """A form that cannot be accepted: ``description`` says why, ``field`` names the input that is wrong."""

    def __init__(self, description: str, field: str | None = None) -> None:
        super().__init__(description=description)
        self.field = field


def form_error(message: str, field: str | None = None) -> FormError:
    """``raise form_error("答复内容不能为空", field="text")``: the form comes back with what was typed."""
    return FormError(message, field)


def typed(name: str, default: Any = "") -> Any:
    """In a template: the value typed into field ``name`` when its form came back, else ``default``."""
    form = g.get("form_typed")
    if form is not None and name in form:
        return form.get(name)
    return default if default is not None else ""


def field_error(name: str) -> str:
    """In a template: the message for field ``name`` when its form came back for it, else ""."""
    e = g.get("form_failed")
    return e.description if isinstance(e, FormError) and e.field == name else ""


def install(app: Flask) -> None:
    app.jinja_env.globals["typed"] = typed
    app.jinja_env.globals["field_error"] = field_error
    for code in ERROR_CODES:
        app.register_error_handler(code, error_page)


def error_page(e: Any) -> Any:
    if request.path.startswith("/wechat"):
        return e
    if not isinstance(e, HTTPException):  # an unhandled exception reaches the 500 handler as itself
        e = InternalServerError(original_exception=e)
    if e.code == 400 and request.method == "POST":
        again = _form_again(e)
        if again is not None:
            return again
    code = e.code or 500
    if (
        g.get("user") is None
    ):  # the guard did not run (no route) or refused early: the menu still for who is in
        try:
            g.user = access.signed_in_user()
        except Exception:  # the database is down (a 500): the page without the menu
            log.exception("signed-in account not looked up for the error page")
    values = {
        "code": code,
        "title": TITLES.get(code, "出错了"),
        "message": _message(e, code),
        "back": _way_back(),
        "kept": _long_texts() if code == 400 and request.method == "POST" else [],
    }
    try:
        return render_template("error.html", **values), code
    except Exception:  # the layout itself failed (the database is down …): still a page in Chinese
        log.exception("error page could not be rendered")
        page = f"<!doctype html><meta charset='utf-8'><h1>{code} · {values['title']}</h1><p>{values['message']}</p>"
        return page, code


def _message(e: HTTPException, code: int) -> str:
    """Ours where the code raised one in Chinese; werkzeug's English descriptions never."""
    said = e.description or ""
    if code != 500 and said and not said.isascii():
        return said
    return MESSAGES.get(code, "请求无法处理，请返回后重试。")


def _form_again(e: HTTPException) -> Any:
    """The form's page rendered again with the typed values and the message (None where it cannot be)."""
    if g.get("user") is None or g.get("form_failed") is not None:
        return None
    found = _referrer_route()
    if found is None:
        return None
    endpoint, args = found
    if endpoint in NOT_AGAIN:
        return None
    g.form_typed, g.form_failed = request.form, e
    # the page as it was asked for: its own query (a chosen household, a filter), not the POST's
    request.args = ImmutableMultiDict(
        parse_qsl(urlsplit(request.referrer or "").query, keep_blank_values=True)
    )
    flash(_message(e, 400), "error")
    view: Any = current_app.view_functions[endpoint]
    try:
        rv = current_app.make_response(view(**args))
    except HTTPException:
        rv = None
    if rv is None or rv.status_code != 200 or rv.mimetype != "text/html":
        flashes = session.get("_flashes")
        if flashes:  # not shown: not carried to the next page either
            flashes.pop()
            session.modified = True
        return None
    rv.status_code = 400
    return rv


def _referrer_route() -> tuple[str, dict[str, Any]] | None:
    """The console GET route the Referer names, on this host (else None)."""
    url = request.referrer
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path
    if request.script_root and path.startswith(request.script_root):
        path = path[len(request.script_root) :]
    return _match(path)


def _match(path: str) -> tuple[str, dict[str, Any]] | None:
    adapter = current_app.url_map.bind(request.host)
    try:
        endpoint, args = adapter.match(path, method="GET")
    except Exception:  # no such page, a redirect, a method not allowed: no way back through it
        return None
    if not str(endpoint).startswith("console.") or endpoint == "console.static":
        return None
    return str(endpoint), dict(args)


def _way_back() -> str:
    """Where the error page's link goes: the page the person came from, the nearest page above, the dashboard."""
    root = request.script_root or ""
    ref = request.referrer
    if ref and _referrer_route() is not None and urlsplit(ref).path != root + request.path:
        return urlsplit(ref).path
    path = request.path.rstrip("/")
    while path.count("/") > 1:
        path = path.rsplit("/", 1)[0]
        if _match(path) is not None:
            return root + path
    return root + "/"


def _long_texts() -> list[tuple[str, str]]:
    """The longer texts a failed POST carried, to show for copying (never passwords or tokens)."""
    out = []
    for name, value in request.form.items():
        if "password" in name or name == "csrf_token" or len(value.strip()) < LONG_TEXT:
            continue
        out.append((name, value))
    return out


__all__ = ["ERROR_CODES", "FormError", "error_page", "field_error", "form_error", "install", "typed"]
