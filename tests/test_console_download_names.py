"""Downloads carry Chinese names (Content-Disposition filename* in UTF-8, RFC 6266) and HTML documents open in
the browser instead of being saved (issue 25 item 6)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from tests.support.console_world import (
    World,
    world_fixture,  # noqa: F401 - the `world` fixture
)


def disposition(r: object) -> tuple[str, str]:
    """(attachment or inline, the UTF-8 file name) of a response."""
    value = r.headers["Content-Disposition"]  # type: ignore[attr-defined]
    kind = value.split(";", 1)[0].strip()
    star = [p.strip() for p in value.split(";") if p.strip().startswith("filename*=")]
    assert star, value
    return kind, unquote(star[0].removeprefix("filename*=").removeprefix("UTF-8''"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/reports/download?kind=month&period=2026-11&format=xlsx", ("attachment", "月通报-2026-11.xlsx")),
        ("/reports/download?kind=month&period=2026-11&format=html", ("inline", "月通报-2026-11.html")),
        ("/ledger/download?month=2026-11&format=xlsx", ("attachment", "五个一台账-2026-11.xlsx")),
        ("/ledger/download?month=2026-11&format=html", ("inline", "五个一台账-2026-11.html")),
    ],
)
def test_downloads_have_chinese_names_and_html_opens_in_the_browser(
    world: World, url: str, expected: tuple[str, str]
) -> None:
    r = world.login("admin").get(url)
    assert r.status_code == 200
    assert disposition(r) == expected
