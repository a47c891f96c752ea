"""Publishing the circular, tried as the office would, on the hand-computed township of test_assessment:
`lianxin report publish month 2026-11` freezes the report (json, xlsx, html, PDF) and pushes each bound cadre
their own score and rank once; later data does not change the stored copy; publishing again sends nothing;
chat `排名` shows the cadre's own figures; the console's 发布 button and stored files are the office's."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pypdf
import pytest
from sqlalchemy import select

from console.documents.printing import find_chromium
from handlers.circular_notices import PART_NAMES
from storage.models import AuditLog, Cadre, DiaryEntry, OutboxMessage, PublishedReport
from tests.support.chat_env import Chat, make_chat
from tests.support.cli import run_cli
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.township import NOW, Scenario

BOUND = {"张三": "o-zhang", "孙七": "o-sun", "王五": "o-wang"}  # 李四 and 赵六 have not bound their WeChat


@pytest.fixture
def township(make_lx: Any, clock: Any) -> Chat:
    chat = make_chat(make_lx, clock)
    with chat.lx.session() as s:
        sc = Scenario(s)
        sc.build()
        sc.bind(BOUND)
    clock.set(NOW)
    return chat


def rank(renders: Any, text: str) -> tuple[str, Any, int, Any]:
    """(template, score, cadres ranked, rank) of a circular's push or a 排名 reply."""
    said = renders.behind(text)
    return said.name, said["row"]["score"], said["ranked"], said["row"]["rank"]


def lost(renders: Any, text: str) -> list[tuple[str, float]]:
    """The parts that cost the most points, as the push names them."""
    return [(c["name"], c["lost"]) for c in renders.behind(text)["costs"]]


def test_publishing_freezes_the_month_and_tells_each_bound_cadre_once(township: Chat, renders: Any) -> None:
    r = run_cli(township.lx, "report", "publish", "month", "2026-11")
    assert r.exit_code == 0, r.output
    assert township.count(PublishedReport, PublishedReport.period == "2026-11") >= 3
    assert township.count(OutboxMessage, OutboxMessage.kind == "notice") == 3  # 3 of the 5 cadres are bound
    pushes = township.notices()
    assert set(pushes) == set(BOUND.values())
    # tests/test_assessment.py computes these by hand: nobody has done the ledger's duties (20 of 100 points)
    assert rank(renders, pushes["o-zhang"]) == ("circular_push", 80.0, 5, 1) and lost(
        renders, pushes["o-zhang"]
    ) == [(PART_NAMES["ledger"], 20.0)]
    assert rank(renders, pushes["o-sun"]) == ("circular_push", 75.0, 5, 2)
    assert lost(renders, pushes["o-sun"]) == [(PART_NAMES["ledger"], 20.0), (PART_NAMES["tasks"], 5.0)]
    assert rank(renders, pushes["o-wang"])[3] == 4
    # 王五 (weights without cards: 75): ledger 26.67 of 26.67 lost, diary 40 − 32.73 = 7.27
    assert lost(renders, pushes["o-wang"]) == [(PART_NAMES["ledger"], 26.67), (PART_NAMES["diary"], 7.27)]
    assert "张三" not in pushes["o-wang"]  # each hears only their own figures
    stored = run_cli(township.lx, "report", "published", "month", "2026-11")
    frozen = json.loads(stored.stdout)
    live = json.loads(run_cli(township.lx, "report", "month", "2026-11").stdout)
    assert frozen["cadres"] == live["cadres"]

    # more data arrives: the live report changes, the published one does not
    with township.lx.session() as s:
        zhao = s.scalar(select(Cadre).where(Cadre.name == "赵六"))
        for d in range(16, 28):
            s.add(DiaryEntry(cadre_id=zhao.id, day=date(2026, 11, d), text="补写的走访记录"))
    live = json.loads(run_cli(township.lx, "report", "month", "2026-11").stdout)
    assert json.loads(run_cli(township.lx, "report", "published", "month", "2026-11").stdout) == frozen
    assert live["cadres"] != frozen["cadres"]

    again = run_cli(township.lx, "report", "publish", "month", "2026-11")
    assert again.exit_code == 0 and "已经发布过" in again.output  # the operator is told: worded on purpose
    assert township.count(OutboxMessage, OutboxMessage.kind == "notice") == 3
    assert [a for a in township.all(select(AuditLog.action)) if a == "report.publish"] == ["report.publish"]
    listing = run_cli(township.lx, "report", "published")
    rows = [line.split("\t") for line in listing.output.splitlines() if "\t" in line]
    assert [row[1:3] for row in rows] == [
        ["2026-11", "2026-12-02 10:00"]
    ]  # one period: its time of publishing
    formats = set(township.all(select(PublishedReport.format)))
    assert {"json", "xlsx", "html"} <= formats
    if find_chromium():
        assert "pdf" in formats
        assert township.one(
            select(PublishedReport.content).where(PublishedReport.format == "pdf")
        ).startswith(b"%PDF")


def test_published_files_come_out_as_stored(township: Chat, tmp_path: Any) -> None:
    assert run_cli(township.lx, "report", "publish", "month", "2026-11").exit_code == 0
    out = tmp_path / "nov.xlsx"
    r = run_cli(township.lx, "report", "published", "month", "2026-11", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == township.one(
        select(PublishedReport.content).where(PublishedReport.format == "xlsx")
    )
    missing = run_cli(township.lx, "report", "published", "month", "2026-10")
    assert missing.exit_code != 0 and "尚未发布" in missing.output


@pytest.mark.parametrize("period, error", [("2026-12", "还没有结束"), ("2026-13", "PERIOD")])
def test_a_period_not_over_or_not_a_period_cannot_be_published(
    township: Chat, period: str, error: str
) -> None:
    r = run_cli(township.lx, "report", "publish", "month", period)
    assert r.exit_code != 0 and error in r.output
    assert township.count(PublishedReport) == 0 and township.count(OutboxMessage) == 0


def test_chat_ranking_shows_the_cadres_own_figures_in_the_last_circular(township: Chat, renders: Any) -> None:
    assert renders.behind(township.wc.text("o-sun", "排名")).name == "ranking_none"
    assert run_cli(township.lx, "report", "publish", "month", "2026-11").exit_code == 0
    reply = renders.behind(township.wc.text("o-sun", "排名"))
    assert (reply["period"], reply["row"]["name"], reply["row"]["rank"]) == ("2026-11", "孙七", 2)
    assert rank(renders, township.wc.text("o-wang", "  排名。"))[3] == 4


# ------------------------------------------------------------------------------------------- console


def test_console_publishes_once_and_serves_the_stored_files(world: World, renders: Any) -> None:
    world.clock.set("2026-12-02 10:00")
    admin = world.login("admin")
    r = admin.post("/circulars/publish", {"kind": "month", "period": "2026-11"})
    assert r.status_code == 302
    page = page_text(admin.get("/circulars"))
    [row] = renders.page("circulars.html")["rows"]
    assert "2026-11" in page and (row.period, row.published_by) == ("2026-11", "console:admin")
    assert world.count(OutboxMessage, OutboxMessage.kind == "notice") == 2  # both bound cadres of the world
    assert "已经发布过" in page_text(
        admin.post("/circulars/publish", {"kind": "month", "period": "2026-11"}, follow_redirects=True)
    )
    assert world.count(OutboxMessage, OutboxMessage.kind == "notice") == 2
    got = admin.get("/circulars/month/2026-11.json")
    assert got.status_code == 200 and json.loads(got.data)["period"] == "2026-11"
    assert [a.action for a in world.audits("report.export_published")] == ["report.export_published"]
    assert admin.get("/circulars/month/2026-10.json").status_code == 404
    viewer = world.login("leader")
    assert "2026-11" in page_text(viewer.get("/circulars"))
    assert viewer.get("/circulars/month/2026-11.json").status_code == 403
    assert viewer.post("/circulars/publish", {"kind": "month", "period": "2026-10"}).status_code == 403
    assert world.count(PublishedReport, PublishedReport.period == "2026-10") == 0


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is needed to print PDF")
def test_the_published_pdf_masks_phones_as_the_console_does(township: Chat) -> None:
    """The PDF is what gets printed, posted and passed round: its phones are masked as the console masks them
    (the stored json, xlsx and html, the office's own copies, keep them in full as the CLI's)."""
    assert run_cli(township.lx, "report", "publish", "month", "2026-11").exit_code == 0
    pdf = township.one(select(PublishedReport.content).where(PublishedReport.format == "pdf"))
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "张三" in text and "13900000001" not in text.replace(" ", "")
    assert "139****0001" in text.replace(" ", "")
    html = township.one(select(PublishedReport.content).where(PublishedReport.format == "html"))
    assert b"13900000001" in html
