"""The bind slip the office prints for a cadre (issue 25 item 9): it names the Official Account to follow, and warns
the office when the cadre already has a WeChat account bound (the code moves the role to another account)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.models import Village
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.factories import Factory


def test_the_slip_names_the_account_and_warns_when_the_cadre_is_already_bound(
    world: World, renders: Any
) -> None:
    c = world.login("admin")
    r = c.post(f"/cadres/{world.ids['cadre_a']}/bind-code")  # 李明 is bound
    page = page_text(r)
    assert r.status_code == 200 and renders.page().name == "bind_slip.html"
    assert world.lx.config.general.account_name in page
    assert renders.page()["bound"] is True and 'id="already-bound"' in r.get_data(as_text=True)
    with world.lx.session() as s:
        village = s.scalar(select(Village).where(Village.name == "新桥村"))
        new = Factory(s).cadre("新干部", phone="13900000077", village=village)
        s.commit()
        new_id = new.id
    r = c.post(f"/cadres/{new_id}/bind-code")
    assert r.status_code == 200 and renders.page()["bound"] is False
    assert 'id="already-bound"' not in r.get_data(as_text=True)
    assert world.lx.config.general.account_name in page_text(r)
