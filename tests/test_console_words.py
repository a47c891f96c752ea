"""No machine word a clerk must read (issue 25 item 1): the visible text of every main console page, after the
office has worked in it (a reply, a reassignment, leave, a paper diary, an offline request, a closed request),
holds no English status or kind word and no raw actor id."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

from storage import leave
from storage.models import Cadre
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)

STRAY = re.compile(
    r"\b(pending|delivered|acknowledged|fed_back|returned|open|answered|closed|sending|sent|failed|merged|"
    r"expired|refused|requested|approved|notice|reminder|month|quarter|year|villager|demo|admin|county|"
    r"True|False|None)\b|\b(console|office|cadre|wechat):\S"
)


class _Visible(HTMLParser):
    """The text a person sees: no tags, attributes, scripts or styles (nor ``<code>``: a masked WeChat account,
    compared by eye, is data — the demo's are named demo-…)."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def visible(html: str) -> str:
    p = _Visible()
    p.feed(html)
    return " ".join(p.out)


def _office_at_work(world: World) -> None:
    c = world.login("admin")
    c.post("/requests/1/reply", {"text": "明天上门查看"})
    c.post("/requests/2/reassign", {"cadre_id": world.ids["cadre_a"]})
    c.post("/requests/1/close")
    c.post("/offline/diary", {"cadre_id": world.ids["cadre_a"], "day": "2026-11-23", "text": "走访三户"})
    with world.lx.session() as s:
        leave.request_leave(
            s,
            cadre=s.get(Cadre, world.ids["cadre_b"]),
            start=date(2026, 11, 26),
            end=date(2026, 11, 26),
            reason="看病",
            now=world.clock(),
        )


PAGES = [
    "/",
    "/cadres",
    "/cadres/{cadre_a}",
    "/households",
    "/households/{hh_a}",
    "/tasks",
    "/tasks/{task}",
    "/requests",
    "/requests/1",
    "/requests/2",
    "/diaries",
    "/leave",
    "/offline",
    "/policy",
    "/reports",
    "/circulars",
    "/print",
    "/delivery",
    "/audit",
]


def test_console_pages_show_no_machine_words(world: World) -> None:
    _office_at_work(world)
    c = world.login("admin")
    found = {}
    for url in PAGES:
        url = url.format(**world.ids)
        r = c.get(url)
        assert r.status_code == 200, url
        text = visible(page_text(r))
        # the signed-in account's own user name is what the person typed to log in
        text = text.replace("admin（", "（").replace("admin ", " ")
        stray = sorted({m.group(0) for m in STRAY.finditer(text)})
        if stray:
            found[url] = stray
    assert found == {}
