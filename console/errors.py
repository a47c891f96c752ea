"""The error pages people see: 400, 403, 404 and 429 in plain Chinese, whichever part of the site raised them
(console/areas.py installs them on the app). /wechat keeps Flask's own answers: WeChat reads no pages."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

TITLES = {400: "请求无效", 403: "没有权限", 404: "找不到该记录", 429: "操作太频繁"}


def error_page(e: Any) -> Any:
    if request.path.startswith("/wechat"):
        return e
    return render_template(
        "error.html",
        code=e.code,
        title=TITLES.get(e.code, "错误"),
        message=e.description if e.code != 404 else "该记录不存在，或不在您的权限范围内。",
    ), e.code
