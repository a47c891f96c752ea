"""The diary book (《民情日记》), tried as the office would: `lianxin diary-book --cadre PHONE --month YYYY-MM
--out F` and the console's 打印民情日记本 give a cadre's month — every entry of theirs by day and time, nothing
of another cadre's, 补录 marked with who entered it, photos embedded, voice marked, leave days, the 小结 —
as HTML and as an A4 PDF with page numbers (its text read back with pypdf); a village's month is one file
with every cadre of the village, each from a new page. Bad input is refused with a clear message."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pypdf
import pytest
import segno
from sqlalchemy import select

from console.documents.printing import find_chromium
from handlers.render import render
from storage import offline
from storage.models import Attachment, AuditLog, Cadre, CadreLeave, DiaryEntry, MonthlySummary, Village
from tests.support.cli import run_cli
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.factories import Factory

LI_TEXTS = [
    "LM-03A 入户走访张大山家了解收入",
    "LM-03B 宣传医保缴费政策",
    "LM-05V 语音识别的内容",
    "LM-05P 帮赵小河家修水管",
    "LM-10P 纸质日记走访赵小河",
    "走访张大山家，了解 100% 入户情况",
]
NOT_LI = ["LM-06X", "LM-OCT", "WF-12A", "CJ-13A", "调解钱石头家邻里纠纷"]
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="Chromium is needed to print PDF")


def _png() -> bytes:
    buf = io.BytesIO()
    segno.make("photo").save(buf, kind="png", scale=4)
    return buf.getvalue()


def seed(w: World) -> None:
    """李明 (新桥村): a month of entries (one undone, one in October), a photo, a voice entry, a paper entry, leave
    and the 小结; 王芳 (石门村) and 陈静 (新桥村) each one entry of their own."""
    tz = w.lx.config.tz
    media = Path(w.lx.config.general.media_dir)
    media.mkdir(parents=True, exist_ok=True)
    (media / "p1.png").write_bytes(_png())

    def at(month: int, day: int, hh: int, mm: int) -> datetime:
        return datetime(2026, month, day, hh, mm, tzinfo=tz).astimezone(UTC)

    with w.lx.session() as s:
        li, wang = s.get(Cadre, w.ids["cadre_a"]), s.get(Cadre, w.ids["cadre_b"])
        chen = Factory(s).cadre(
            "陈静", phone="13900000003", village=s.get(Village, w.ids["village_a"]), post="驻村干部"
        )
        w.ids["cadre_c"] = chen.id
        late = DiaryEntry(
            cadre_id=li.id, day=date(2026, 11, 3), text=LI_TEXTS[0], role="调查", created_at=at(11, 3, 16, 40)
        )
        s.add(late)
        s.add(
            DiaryEntry(
                cadre_id=li.id,
                day=date(2026, 11, 3),
                text=LI_TEXTS[1],
                role="宣传",
                created_at=at(11, 3, 9, 15),
            )
        )
        voice = DiaryEntry(
            cadre_id=li.id,
            day=date(2026, 11, 5),
            text=LI_TEXTS[2],
            source="voice",
            media_id="m-v",
            created_at=at(11, 5, 8, 0),
        )
        photo = DiaryEntry(
            cadre_id=li.id, day=date(2026, 11, 5), text=LI_TEXTS[3], role="服务", created_at=at(11, 5, 11, 30)
        )
        s.add_all([voice, photo])
        s.add(
            DiaryEntry(
                cadre_id=li.id,
                day=date(2026, 11, 7),
                text=render("diary_voice_placeholder"),
                source="voice",
                media_id="m-v2",
                created_at=at(11, 7, 7, 30),
            )
        )
        s.add(
            DiaryEntry(
                cadre_id=li.id,
                day=date(2026, 11, 6),
                text="LM-06X 撤销的",
                created_at=at(11, 6, 9, 0),
                deleted_at=at(11, 6, 9, 5),
            )
        )
        s.add(
            DiaryEntry(
                cadre_id=li.id, day=date(2026, 10, 31), text="LM-OCT 十月的", created_at=at(10, 31, 9, 0)
            )
        )
        s.add(
            DiaryEntry(
                cadre_id=wang.id, day=date(2026, 11, 12), text="WF-12A 王芳独有", created_at=at(11, 12, 9, 0)
            )
        )
        s.add(
            DiaryEntry(
                cadre_id=chen.id, day=date(2026, 11, 13), text="CJ-13A 陈静独有", created_at=at(11, 13, 9, 0)
            )
        )
        s.flush()
        s.add(Attachment(owner_type="diary", owner_id=voice.id, media_type="voice", media_id="m-v"))
        s.add(
            Attachment(
                owner_type="diary",
                owner_id=photo.id,
                media_type="image",
                media_id="m-p",
                stored_path=str(media / "p1.png"),
                content_type="image/png",
            )
        )
        offline.add_paper_diary(
            s,
            cadre=li,
            day=date(2026, 11, 10),
            text=LI_TEXTS[4],
            actor="console:admin",
            now=w.clock(),
            today=date(2026, 11, 24),
        )
        s.add(
            CadreLeave(
                cadre_id=li.id, start_date=date(2026, 11, 26), end_date=date(2026, 11, 27), status="approved"
            )
        )
        s.add(
            CadreLeave(
                cadre_id=li.id, start_date=date(2026, 11, 18), end_date=date(2026, 11, 18), status="refused"
            )
        )
        s.add(
            MonthlySummary(
                cadre_id=li.id,
                month="2026-11",
                text="LM-SUM 本月走访十二户",
                submitted_day=date(2026, 11, 30),
            )
        )


@pytest.fixture
def seeded(world: World) -> World:
    seed(world)
    return world


def _pdf_pages(data: bytes) -> list[str]:
    return [p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(data)).pages]


def test_a_cadres_book_holds_every_entry_of_theirs_in_time_order_and_nothing_else(
    seeded: World, tmp_path: Path
) -> None:
    out = tmp_path / "li.html"
    r = run_cli(seeded.lx, "diary-book", "--cadre", "13900000001", "--month", "2026-11", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "1 名干部，7 条日记" in r.output
    html = out.read_text(encoding="utf-8")
    for text in LI_TEXTS:
        assert text in html, text
    for text in NOT_LI:
        assert text not in html, text
    # header, time order within a day, roles as stored (五个员), voice, 补录 with who, the photo embedded
    assert "新桥村" in html and "李明" in html and "2026年11月" in html and "龙伏镇" in html
    assert html.index("09:15") < html.index("LM-03B") < html.index("16:40") < html.index("LM-03A")
    assert "政策宣传员" in html and "民意调查员" in html
    voice_at = html.index("LM-05V")
    assert "语音" in html[voice_at - 400 : voice_at]
    paper_at = html.index("LM-10P")
    assert "补录" in html[paper_at - 400 : paper_at] and "控制台 admin" in html[paper_at - 400 : paper_at]
    assert html.count('src="data:image/png;base64,') == 1
    # approved leave only, then the month's 小结 after the last day
    assert "11月26日" in html and "11月27日" in html and "11月18日" not in html
    assert html.index("11月27日") < html.index("LM-SUM")
    audit = seeded.one(select(AuditLog).where(AuditLog.action == "diary_book.export"))
    assert (audit.actor, audit.target, audit.detail["entries"]) == ("cli", "cadre:13900000001:2026-11", 7)
    # a voice entry WeChat gave no recognition text for reads as 语音, not as the bot's reply to the cadre
    assert "语音（无识别文字" in html and render("diary_voice_placeholder").strip() not in html


@needs_chromium
def test_a_cadres_pdf_is_a4_with_page_numbers_and_only_their_entries(seeded: World, tmp_path: Path) -> None:
    out = tmp_path / "li.pdf"
    r = run_cli(seeded.lx, "diary-book", "--cadre", "13900000001", "--month", "2026-11", "--out", str(out))
    assert r.exit_code == 0, r.output
    data = out.read_bytes()
    pages = _pdf_pages(data)
    text = "\n".join(pages)
    for marker in ("LM-03A", "LM-03B", "LM-05V", "LM-05P", "LM-10P", "LM-SUM"):
        assert marker in text, marker
    for marker in ("LM-06X", "LM-OCT", "WF-12A", "CJ-13A"):
        assert marker not in text, marker
    assert "补录" in text and "李明" in text and "民情日记" in text.replace(" ", "")
    assert all(f"第 {i} 页" in p for i, p in enumerate(pages, 1))
    box = pypdf.PdfReader(io.BytesIO(data)).pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)


@needs_chromium
def test_a_villages_book_has_every_cadre_of_the_village_each_from_a_new_page(
    seeded: World, tmp_path: Path
) -> None:
    out = tmp_path / "xq.pdf"
    r = run_cli(seeded.lx, "diary-book", "--village", "新桥村", "--month", "2026-11", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "2 名干部，8 条日记" in r.output
    pages = _pdf_pages(out.read_bytes())
    text = "\n".join(pages)
    assert "LM-03A" in text and "CJ-13A" in text and "WF-12A" not in text
    chen_first = [i for i, p in enumerate(pages) if "CJ-13A" in p][0]
    assert "LM-" not in pages[chen_first]  # 陈静's book starts on a page of its own
    html_out = tmp_path / "xq.html"
    assert (
        run_cli(
            seeded.lx, "diary-book", "--village", "新桥村", "--month", "2026-11", "--out", str(html_out)
        ).exit_code
        == 0
    )
    assert html_out.read_text(encoding="utf-8").count('class="book"') == 2


@pytest.mark.parametrize(
    "args, error",
    [
        (["--cadre", "13000000000", "--month", "2026-11"], "没有电话为 13000000000 的干部"),
        (["--cadre", "13900000001", "--month", "2026-13"], "月份应写作 YYYY-MM"),
        (["--cadre", "13900000001", "--month", "11月"], "月份应写作 YYYY-MM"),
        (["--village", "无此村", "--month", "2026-11"], "没有名为「无此村」的村(居)"),
        (["--month", "2026-11"], "--cadre"),
    ],
)
def test_a_book_asked_for_wrongly_is_refused_with_a_clear_message(
    seeded: World, tmp_path: Path, args: list[str], error: str
) -> None:
    out = tmp_path / "x.html"
    r = run_cli(seeded.lx, "diary-book", *args, "--out", str(out))
    assert r.exit_code != 0 and error in r.output, r.output
    assert not out.exists() and seeded.count(AuditLog, AuditLog.action == "diary_book.export") == 0


def test_a_book_to_an_unknown_format_is_refused(seeded: World, tmp_path: Path) -> None:
    r = run_cli(
        seeded.lx,
        "diary-book",
        "--cadre",
        "13900000001",
        "--month",
        "2026-11",
        "--out",
        str(tmp_path / "x.docx"),
    )
    assert r.exit_code != 0 and ".html 或 .pdf" in r.output


def test_the_console_prints_a_cadres_book_for_those_who_may_see_them(seeded: World) -> None:
    w = seeded
    admin = w.login("admin")
    r = admin.get(f"/diaries/book?cadre={w.ids['cadre_a']}&month=2026-11")
    assert r.status_code == 200 and "LM-10P" in page_text(r) and "WF-12A" not in page_text(r)
    village = w.login("xinqiao")  # 新桥村's secretary: 李明 and 陈静, not 王芳 of 石门村
    assert village.get(f"/diaries/book?cadre={w.ids['cadre_c']}&month=2026-11").status_code == 200
    assert village.get(f"/diaries/book?cadre={w.ids['cadre_b']}&month=2026-11").status_code == 404
    assert village.get(f"/diaries/book?village={w.ids['village_b']}&month=2026-11").status_code == 404
    r = village.get(f"/diaries/book?village={w.ids['village_a']}&month=2026-11")
    assert r.status_code == 200 and "CJ-13A" in page_text(r) and "LM-03A" in page_text(r)
    assert w.login("leader").get(f"/diaries/book?cadre={w.ids['cadre_a']}&month=2026-11").status_code == 403
    bad = admin.get(f"/diaries/book?cadre={w.ids['cadre_a']}&month=2026-13")
    assert bad.status_code == 400 and "YYYY-MM" in page_text(bad)
    assert [(a.actor, a.target) for a in w.audits("diary_book.export")] == [
        ("console:admin", "cadre:13900000001:2026-11"),
        ("console:xinqiao", "cadre:13900000003:2026-11"),
        ("console:xinqiao", "village:新桥村:2026-11"),
    ]


@needs_chromium
def test_the_console_prints_a_cadres_book_as_pdf(seeded: World) -> None:
    r = seeded.login("admin").get(f"/diaries/book?cadre={seeded.ids['cadre_a']}&month=2026-11&format=pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "LM-05P" in "\n".join(_pdf_pages(r.data))


def test_the_cadres_page_and_the_diaries_page_offer_the_book(seeded: World) -> None:
    admin = seeded.login("admin")
    page = page_text(admin.get(f"/cadres/{seeded.ids['cadre_a']}?month=2026-11"))
    assert f"/diaries/book?cadre={seeded.ids['cadre_a']}&amp;month=2026-11" in page
    assert 'id="diary-book-village"' in page_text(admin.get("/diaries"))
    assert "打印民情日记本" not in page_text(seeded.login("leader").get(f"/cadres/{seeded.ids['cadre_a']}"))


def test_working_days_owed_and_not_written_show_as_unrecorded(seeded: World, tmp_path: Path) -> None:
    """王芳 started on Monday 16 Nov and wrote once (12 Nov, before her start, a paper diary kept): made on 24 Nov,
    her book shows 16–20 and 23 Nov as 未记录; weekends, the days to come and the days before her start do not (today has her entry)."""
    with seeded.lx.session() as s:
        s.get(Cadre, seeded.ids["cadre_b"]).created_at = datetime(
            2026, 11, 16, 9, 0, tzinfo=seeded.lx.config.tz
        )
    out = tmp_path / "wang.html"
    r = run_cli(
        seeded.lx, "diary-book", "--cadre", seeded.phones["cadre_b"], "--month", "2026-11", "--out", str(out)
    )
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    missed = [f"11月{d}日" for d in (16, 17, 18, 19, 20, 23)]
    for day in missed:
        assert day in html, day
    assert html.count("未记录") == len(missed)
    for day in ("11月13日", "11月21日", "11月22日", "11月25日"):
        assert day not in html, day
    assert "11月12日" in html and "WF-12A" in html
    assert ".entry, .day.missed { break-inside: avoid; }" in html  # an entry is never split across two pages
