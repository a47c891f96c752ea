"""重点人群 tags (issue 24 item 6; storage/household_tags.py): from the link list's optional column 重点人群, from
``household add --tag`` and the office's household page; the households page and the ledger filter by them; shown
to the office only — never on the public listing, a service card, a push or a page under public_url."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from bot.app import create_app
from console.documents.printing import render_cards, render_listing
from reminders.delivery import dispatch_outbox
from storage import household_tags
from storage.importer import import_file
from storage.models import Household, HouseholdTag, OutboxMessage, ServiceCard
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import make_chat
from tests.support.cli import run_cli
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.link_lists import HEADER, good_rows, to_csv
from tests.support.wechat_browser import open_link

TAGS_HEADER = [*HEADER, "重点人群"]


def tagged_rows() -> list[list[str]]:
    rows = [[*r, ""] for r in good_rows()]
    rows[0][-1] = "低保户、独居老人"
    rows[1][-1] = "残疾人,退役军人"
    return rows


def tags_by_head(session: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for head, tag in session.execute(
        select(Household.head_name, HouseholdTag.tag).join(HouseholdTag).order_by(HouseholdTag.tag)
    ):
        out.setdefault(head, []).append(tag)
    return out


def test_the_lists_column_sets_tags_and_a_list_without_it_leaves_them(session: Any) -> None:
    rows = tagged_rows()
    plan = import_file(
        session, to_csv(rows, header=TAGS_HEADER), filename="l.csv", actor="t", township="示范镇"
    )
    assert plan.applied, plan.problems
    first, second = rows[0][2], rows[1][2]
    assert tags_by_head(session) == {first: ["低保户", "独居老人"], second: ["残疾人", "退役军人"]}
    import_file(session, to_csv(good_rows()), filename="l.csv", actor="t", township="示范镇")  # no column
    assert tags_by_head(session)[first] == ["低保户", "独居老人"]
    rows[0][-1] = ""  # with the column, an empty cell clears them
    import_file(session, to_xlsx_tags(rows), filename="l.xlsx", actor="t", township="示范镇")
    assert first not in tags_by_head(session)


def to_xlsx_tags(rows: list[list[str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(TAGS_HEADER)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("cell", ["这是一个远远超过十个字的标签名称", "低保户/独居"])
def test_a_bad_tag_cell_is_reported_by_row_and_column_and_nothing_is_written(session: Any, cell: str) -> None:
    rows = tagged_rows()
    rows[3][-1] = cell
    plan = import_file(
        session, to_csv(rows, header=TAGS_HEADER), filename="l.csv", actor="t", township="示范镇"
    )
    assert not plan.applied
    assert [(p.row, p.column) for p in plan.problems] == [(5, "重点人群")]
    assert session.scalar(select(Household.id)) is None


def test_household_add_with_tags_and_the_ledger_counts_only_the_tagged(make_lx: Any, clock: Any) -> None:
    clock.set("2026-11-24 10:00")
    lx = make_lx()
    with lx.session() as s:
        import_file(
            s, to_csv(tagged_rows(), header=TAGS_HEADER), filename="l.csv", actor="t", township="示范镇"
        )
    r = run_cli(
        lx, "household", "add", "--village", "新桥村", "--head", "孙大娘", "--size", "1",
        "--cadre", "13987654321", "--tag", "独居老人", "--tag", "低保户",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    bad = run_cli(
        lx, "household", "add", "--village", "新桥村", "--head", "孙二娘", "--size", "1",
        "--cadre", "13987654321", "--tag", "低保户!",
    )  # fmt: skip
    assert bad.exit_code != 0
    led = json.loads(run_cli(lx, "ledger", "--tag", "低保户").output)
    assert led["totals"]["households"] == 2 and led["filters"]["tag"] == "低保户"
    assert json.loads(run_cli(lx, "ledger").output)["totals"]["households"] == 36
    assert json.loads(run_cli(lx, "ledger", "--tag", "残疾人").output)["totals"]["households"] == 1


# ------------------------------------------------------------------------------------------------ console


def tag(world: World, key: str, *tags: str) -> None:
    with world.lx.session() as s:
        for t in tags:
            s.add(HouseholdTag(household_id=world.ids[key], tag=t, added_by="test"))


def test_the_office_sees_edits_and_filters_by_tags_and_a_village_account_does_not(world: World) -> None:
    tag(world, "hh_a", "低保户")
    office = world.login("admin")
    page = page_text(office.get(f"/households/{world.ids['hh_a']}"))
    assert 'id="household-tags"' in page and "低保户" in page
    listed = page_text(office.get("/households?tag=低保户"))
    assert "张大山" in listed and "赵小河" not in listed
    r = office.post(f"/households/{world.ids['hh_a2']}/tags", {"tags": "留守儿童、残疾人"})
    assert r.status_code == 302
    with world.lx.session() as s:
        assert sorted(
            s.scalars(select(HouseholdTag.tag).where(HouseholdTag.household_id == world.ids["hh_a2"]))
        ) == ["残疾人", "留守儿童"]
    assert [a.target for a in world.audits("household.tags")] == [f"household:{world.ids['hh_a2']}"]
    assert office.post(f"/households/{world.ids['hh_a2']}/tags", {"tags": "低保户/x"}).status_code == 400
    ledger = page_text(office.get("/ledger?tag=留守儿童&village=新桥村"))
    assert 'id="ledger-tag"' in ledger and "赵小河" in ledger and "张大山" not in ledger

    clerk = world.login("xinqiao")
    page = page_text(clerk.get(f"/households/{world.ids['hh_a']}"))
    assert "低保户" not in page and 'id="household-tags"' not in page
    assert "低保户" not in page_text(clerk.get("/households"))
    # the filter is the office's: a village account's ?tag= filters nothing
    assert "赵小河" in page_text(clerk.get("/households?tag=低保户"))
    assert clerk.post(f"/households/{world.ids['hh_a']}/tags", {"tags": ""}).status_code == 403


def test_tags_are_never_on_the_listing_or_the_cards(world: World) -> None:
    tag(world, "hh_a", "低保户", "监测户")
    with world.lx.session() as s:
        cards_html, n = render_cards(s, world.lx.config)
        listing = render_listing(s, world.lx.config, today=world.clock().date())
    listing_html = listing[0] if isinstance(listing, tuple) else listing
    assert n >= 1 and "10000001" in cards_html
    assert "低保户" not in cards_html and "监测户" not in cards_html
    assert "低保户" not in listing_html and "监测户" not in listing_html


PUBLIC = "https://lianxin.example.gov.cn"


def test_tags_are_never_in_a_push_or_on_a_page_under_public_url(make_lx: Any, clock: Any) -> None:
    clock.set("2026-11-24 09:00")
    with FakeWechat(clock=lambda: clock().timestamp()) as fake:
        templates = {
            f"wechat.templates.{k}.id": f"TPL_{k}" for k in ("task", "reminder", "request", "reply", "notice")
        }
        chat = make_chat(
            make_lx,
            clock,
            **{"wechat.api_base": fake.url, "wechat.oauth_base": fake.url, "wechat.public_url": PUBLIC},
            **templates,
        )
        with chat.factory() as f:
            cadre = f.cadre(name="李明", phone="13900001111")
            h = f.household(cadre, head_name="张大爷", card="20261124")
            f.s.add(HouseholdTag(household_id=h.id, tag="特困户", added_by="test"))
        chat.wc.text("o-li", f"绑定 {chat.code('13900001111')}")
        reply = chat.wc.text("o-zhang", "20261124")
        assert "特困户" not in reply
        dispatch_outbox(chat.lx)
        clock.advance(hours=49)  # the cadre's window has closed: the request goes as a template with a link
        chat.wc.text("o-zhang", "屋顶漏雨三天了，请来看看")
        dispatch_outbox(chat.lx)
        for m in chat.all(select(OutboxMessage)):
            assert "特困户" not in json.dumps(m.payload, ensure_ascii=False)
        urls = [d.url for d in fake.delivered if d.url]
        assert urls
        client = create_app(chat.lx).test_client()
        for url in urls:
            page = open_link(client, url, public=PUBLIC, openid="o-li")
            assert page.status == 200 and "张大爷" in page.text and "特困户" not in page.text
        assert chat.one(select(ServiceCard.number)) == "20261124"


def test_the_households_own_cadre_sees_its_tags_in_the_households_reply(
    make_lx: Any, clock: Any, renders: Any
) -> None:
    clock.set("2026-11-24 09:00")
    chat = make_chat(make_lx, clock)
    with chat.factory() as f:
        li = f.cadre(name="李明", phone="13900001111")
        wang = f.cadre(name="王芳", phone="13900002222")
        h = f.household(li, head_name="张大爷", card="20261124")
        f.household(wang, head_name="赵叔", card="20261126")
        f.s.add(HouseholdTag(household_id=h.id, tag="独居老人", added_by="test"))
    chat.wc.text("o-li", f"绑定 {chat.code('13900001111')}")
    chat.wc.text("o-wang", f"绑定 {chat.code('13900002222')}")
    mine = chat.wc.text("o-li", "农户")
    assert renders.behind(mine).name == "households" and "独居老人" in mine
    theirs = chat.wc.text("o-wang", "农户")
    assert "独居老人" not in theirs and "张大爷" not in theirs


def test_a_big_lists_tags_are_read_and_written_in_chunks(session: Any, monkeypatch: Any) -> None:
    """A county's list names 100,000 households: the tags are read in one pass and deleted in chunks (the
    drivers' parameter limits), with the same result as a small list's."""
    monkeypatch.setattr(household_tags, "CHUNK", 2)
    rows = tagged_rows()
    import_file(session, to_csv(rows, header=TAGS_HEADER), filename="l.csv", actor="t", township="示范镇")
    rows[0][-1], rows[1][-1], rows[2][-1] = "监测户", "", "脱贫户"
    import_file(session, to_csv(rows, header=TAGS_HEADER), filename="l.csv", actor="t", township="示范镇")
    assert tags_by_head(session) == {rows[0][2]: ["监测户"], rows[2][2]: ["脱贫户"]}
