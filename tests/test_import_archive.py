"""The link list as submitted is kept (issue 24 item 7; storage/import_archive.py): every applied import, from the
command line or the console, archives the file with who imported it and when; the office lists and downloads it
(audited); the archive is in the database, beyond the sweep of abandoned uploads; ``purge`` empties it. And the
console's import asks before a list undoes the register's own changes (issue 24 item 4)."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from storage import purge, uploads
from storage.models import Household, ImportArchive, ServiceCard
from tests.support.cli import run_cli
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.link_lists import GOOD

CSV_HEADER = "村(居),村民小组,户主姓名,户主电话,家庭人口,服务卡号,联户干部,干部电话,干部岗位,干部单位\n"
LIST = CSV_HEADER + "新桥村,二组,孙大田,13855556666,3,,李明,13900000001,村支书,新桥村委会\n"


def upload(c: Any, data: bytes, name: str = "名单.csv") -> Any:
    return c.post("/import", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_an_import_from_the_command_line_is_archived_as_submitted(make_lx: Any, clock: Any) -> None:
    clock.set("2026-11-24 10:00")
    lx = make_lx()
    assert run_cli(lx, "import", str(GOOD), "--township", "示范镇").exit_code == 0
    with lx.session() as s:
        [a] = s.scalars(select(ImportArchive))
        assert (a.filename, a.imported_by, a.rows) == (GOOD.name, "cli", 35)
        assert a.content == GOOD.read_bytes() and a.sha256 == hashlib.sha256(GOOD.read_bytes()).hexdigest()
        assert a.imported_at == clock()
    refused = run_cli(lx, "import", str(GOOD.with_name("nope.csv")))
    assert refused.exit_code != 0
    with lx.session() as s:
        assert len(list(s.scalars(select(ImportArchive)))) == 1  # only applied imports are archived


def test_a_console_import_is_archived_listed_and_downloaded_with_an_audit_row(world: World) -> None:
    office = world.login("admin")
    assert upload(office, LIST.encode("gb18030")).status_code == 200
    assert world.count(ImportArchive) == 0  # the preview keeps nothing
    assert office.post("/import/confirm").status_code == 302
    a = world.one(select(ImportArchive))
    assert (a.filename, a.imported_by, a.content) == ("名单.csv", "console:admin", LIST.encode("gb18030"))
    # the upload itself is gone from the media folder; the sweep of abandoned uploads cannot reach the archive
    media = str(world.lx.config.general.media_dir)
    uploads.sweep_imports(media, now=world.clock() + timedelta(days=30), older_than=None)
    assert world.one(select(ImportArchive.content)) == LIST.encode("gb18030")

    page = office.get("/import/archive")
    assert page.status_code == 200 and "名单.csv" in page_text(page)
    r = office.get(f"/import/archive/{a.id}")
    assert r.status_code == 200 and r.data == LIST.encode("gb18030")
    assert [x.target for x in world.audits("import.archive.download")] == [f"import_archive:{a.id}"]
    assert world.login("xinqiao").get(f"/import/archive/{a.id}").status_code == 403
    assert world.login("leader").get("/import/archive").status_code == 403


def test_purging_a_household_empties_the_archived_lists_and_keeps_the_record(world: World) -> None:
    office = world.login("admin")
    upload(office, LIST.encode())
    assert office.post("/import/confirm").status_code == 302
    with world.lx.session() as s:
        h = s.scalar(select(Household).where(Household.head_name == "孙大田"))
        res = purge.purge_household(s, h, actor="cli", now=world.clock())
        assert res.counts.get("archived_lists") == 1
    a = world.one(select(ImportArchive))
    assert a.content is None and a.content_removed_why == "purge" and a.filename == "名单.csv"
    assert office.get(f"/import/archive/{a.id}").status_code == 410


def test_the_console_import_asks_before_a_list_reopens_a_closed_household(world: World, renders: Any) -> None:
    office = world.login("admin")
    upload(office, LIST.encode())
    assert office.post("/import/confirm").status_code == 302
    number = world.one(select(ServiceCard.number).join(Household).where(Household.head_name == "孙大田"))
    assert run_cli(world.lx, "household", "close", number, "--reason", "迁出").exit_code == 0

    r = upload(office, LIST.encode())
    assert r.status_code == 200 and 'id="register-edits"' in page_text(r)
    assert [e.kind for e in renders.page("import.html")["plan"].register_edits] == ["reopen"]
    no_tick = office.post("/import/confirm")
    assert no_tick.status_code == 400
    assert world.one(select(Household.closed_on).where(Household.head_name == "孙大田")) is not None
    assert office.post("/import/confirm", {"accept_register_edits": "1"}).status_code == 302
    assert world.one(select(Household.closed_on).where(Household.head_name == "孙大田")) is None
    assert world.count(ImportArchive) == 2
