"""A household moved to another cadre, in the console or by import: the new cadre's duties start afresh —
the card to reissue (换卡待发 in the ledger; the card prints the new cadre), the commitment to sign — with the
old marks kept in the history, and the household's linked WeChat told its new cadre, once."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import select

from storage.models import Household, HouseholdInfoHistory, LinkChange, OutboxMessage, ServiceCard
from tests.support.chat_env import make_chat
from tests.support.cli import run_cli
from tests.support.console_world import (
    World,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.factories import Factory
from tests.support.link_lists import GOOD, good_rows, to_csv


def _history(lx: Any, household_id: int) -> dict[str, tuple[str | None, str | None]]:
    with lx.session() as s:
        return {
            h.field: (h.old_value, h.new_value)
            for h in s.scalars(
                select(HouseholdInfoHistory).where(HouseholdInfoHistory.household_id == household_id)
            )
        }


def test_a_move_in_the_console_restarts_the_new_cadres_duties(world: World) -> None:
    hid = world.ids["hh_a"]
    with world.lx.session() as s:
        h = s.get(Household, hid)
        h.card.issued_on, h.card.issued_by = date(2026, 11, 2), "cadre:13900000001"
        h.link.commitment_signed_on, h.link.commitment_recorded_by = date(2026, 11, 3), "cadre:13900000001"
    admin = world.login("admin")
    # the form posts the commitment date it showed (the old cadre's letter) together with the new cadre
    r = admin.post(
        f"/households/{hid}/link",
        {"cadre_id": world.ids["cadre_b"], "commitment_signed_on": "2026-11-03"},
        follow_redirects=True,
    )
    assert "换卡待发" in r.get_data(as_text=True)
    with world.lx.session() as s:
        h = s.get(Household, hid)
        assert (h.link.cadre_id, h.link.commitment_signed_on, h.card.issued_on, h.card.printed_at) == (
            world.ids["cadre_b"],
            None,
            None,
            None,
        )
    assert _history(world.lx, hid) == {
        "card_issued_on": ("2026-11-02 cadre:13900000001", "换卡待发"),
        "commitment_signed_on": ("2026-11-03 cadre:13900000001", None),
    }
    assert world.count(LinkChange, LinkChange.household_id == hid) == 1
    with world.lx.session() as s:
        pushes = list(
            s.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.openid == world.openids["villager_a"], OutboxMessage.kind == "notice"
                )
            )
        )
        assert (
            len(pushes) == 1
            and "联户干部已改为 王芳（驻村干部），电话 13900000002" in pushes[0].payload["text"]
        )
    ledger = json.loads(admin.get("/ledger/download?format=json").data)
    row = next(h for h in ledger["missing"] if h["household_id"] == hid)
    assert "card_reissue" in row["missing"] and "card" not in row["missing"] and row["cadre_name"] == "王芳"
    # saving the same form again is no move: nothing more is cleared or pushed
    admin.post(
        f"/households/{hid}/link", {"cadre_id": world.ids["cadre_b"], "commitment_signed_on": "2026-12-01"}
    )
    assert (
        world.count(
            OutboxMessage, OutboxMessage.openid == world.openids["villager_a"], OutboxMessage.kind == "notice"
        )
        == 1
    )
    with world.lx.session() as s:
        assert s.get(Household, hid).link.commitment_signed_on == date(2026, 12, 1)


def test_a_move_by_import_resets_the_card_and_tells_the_villager(
    make_lx: Any, clock: Any, tmp_path: Any
) -> None:
    chat = make_chat(make_lx, clock)
    first = run_cli(chat.lx, "import", str(GOOD))
    assert first.exit_code == 0, first.output
    with chat.lx.session() as s:
        moved = s.scalar(select(Household).where(Household.head_name == "陈金花"))
        moved.card.issued_on, moved.link.commitment_signed_on = date(2026, 11, 2), date(2026, 11, 3)
        Factory(s).identity("o-chen", household=moved)
        hid = moved.id
    rows = good_rows()
    rows[1][6:10] = ["赵丽", "0871-6543210", "驻村工作队员", "县农业农村局"]  # 陈金花 moves to 赵丽
    changed = tmp_path / "changed.csv"
    changed.write_bytes(to_csv(rows))
    r = run_cli(chat.lx, "import", str(changed))
    assert r.exit_code == 0, r.output
    assert "1 户换了联户干部：服务卡换卡待发、承诺书待重签；已通知农户微信 1 个" in r.output
    assert chat.one(select(ServiceCard.issued_on).where(ServiceCard.household_id == hid)) is None
    assert _history(chat.lx, hid)["card_issued_on"] == ("2026-11-02", "换卡待发")
    push = chat.one(select(OutboxMessage).where(OutboxMessage.openid == "o-chen"))
    assert "联户干部已改为 赵丽（驻村工作队员）" in push.payload["text"]
    assert run_cli(chat.lx, "import", str(changed)).exit_code == 0  # the same file again: no move, no push
    assert chat.count(OutboxMessage, OutboxMessage.openid == "o-chen") == 1
