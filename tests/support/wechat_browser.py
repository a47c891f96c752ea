"""Opening a push's link as a phone would: in the WeChat of one user (whose web OAuth the fake WeChat answers),
or in an ordinary browser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests


@dataclass
class Page:
    status: int
    text: str
    at_wechat: bool = False  # the answer came from WeChat's authorize page, not from lianxin


def open_link(client: Any, url: str, *, public: str, openid: str | None, hops: int = 6) -> Page:
    """Follow ``url`` (under ``public``) with ``client`` (one browser: it keeps its cookies), through WeChat's
    authorize page as ``openid``'s WeChat (None: a browser outside WeChat). Fragments are never sent, as in a
    browser."""
    path = url[len(public) :] if url.startswith(public) else url
    r = client.get(path)
    for _ in range(hops):
        if r.status_code not in (301, 302, 303):
            return Page(r.status_code, r.get_data(as_text=True))
        loc = r.headers["Location"]
        if loc.startswith(public) or loc.startswith("/"):
            r = client.get(loc[len(public) :] if loc.startswith(public) else loc)
            continue
        at_wechat = requests.get(
            loc.split("#", 1)[0],
            headers={"X-Fake-Wechat-User": openid} if openid else {},
            allow_redirects=False,
            timeout=10,
        )
        if at_wechat.status_code != 302:
            return Page(at_wechat.status_code, at_wechat.text, at_wechat=True)
        back = at_wechat.headers["Location"]
        assert back.startswith(public), back
        r = client.get(back[len(public) :])
    raise AssertionError(f"more than {hops} redirects opening {url}")
