"""Printing service cards and the public listing, from the console and the CLI (HTML and PDF), audited and scoped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from console.documents import card_codes
from console.documents import printing as docs
from console.views import printing as printing_views
from storage import print_orders
from storage.models import AuditLog, Cadre, Household, PrintOrder, ServiceCard
from tests.fake_wechat import FakeWechat
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.factories import Factory

needs_chromium = pytest.mark.skipif(
    docs.find_chromium() is None,
    reason="Chromium not installed (apt-get install chromium): PDF output not tested",
)


text = page_text


# ------------------------------------------------------------------------------------------ renderers


def test_cards_eight_per_page_with_the_accounts_qr_codes(world: World) -> None:
    with world.lx.session() as s:
        f = Factory(s)
        cadre = s.get(Cadre, world.ids["cadre_a"])
        for i in range(7):
            f.household(cadre, head_name=f"农户甲{i}", card=f"3000000{i}", village=f.village("新桥村"))
        f.household(None, head_name="无干部户", card="39999999", village=f.village("新桥村"))
        for card in s.scalars(select(ServiceCard)):
            card.qr_scene, card.qr_url = f"scene{card.id}", f"http://weixin.qq.com/q/fake{card.number}"
    with world.lx.session() as s:
        html, n = docs.render_cards(s, world.lx.config, village="新桥村", now=world.clock())
        assert n == 9  # 2 + 7 linked households; the one without a cadre gets no card
        assert html.count('class="sheet"') == 2 and html.count('class="card"') == 9
        assert html.count("<svg") == 9
        assert "李明" in html and "村支书" in html and "13900000001" in html and "10000001" in html
        assert "无干部户" not in html and "王芳" not in html
        rows = docs.card_rows(s, village="新桥村")
        first = next(r for r in rows if r.number == "10000001")
        assert first.qr_data == "http://weixin.qq.com/q/fake10000001"  # the url WeChat issued, nothing else
        assert docs.qr_svg("http://weixin.qq.com/q/fake10000001") in html
        assert "lianxin-card:" not in html
    assert world.one(select(ServiceCard.printed_at).where(ServiceCard.number == "10000001")) is not None
    assert world.one(select(ServiceCard.printed_at).where(ServiceCard.number == "20000001")) is None


def test_cards_without_a_code_from_wechat_print_without_qr_and_say_so(world: World) -> None:
    with world.lx.session() as s:
        html, n = docs.render_cards(s, world.lx.config, village="新桥村", notice="未配置微信 app_id")
    assert n == 2 and "<svg" not in html and "未配置微信 app_id" in html
    assert "（无二维码）" not in html and 'class="qr"' not in html and "发送卡号 10000001" in html
    assert "lianxin-card:" not in html


def test_qr_svg_is_drawn_from_exactly_the_url() -> None:
    import segno

    qr = segno.make("http://weixin.qq.com/q/abc", error="m")
    assert qr.designator.endswith("M")
    assert qr.svg_inline(scale=1, border=2, omitsize=True, dark="#000") == docs.qr_svg(
        "http://weixin.qq.com/q/abc"
    )


def test_listing_per_village(world: World) -> None:
    with world.lx.session() as s:
        html, n = docs.render_listing(s, world.lx.config, today=world.clock().date(), mark=True)
    assert n == 3
    assert html.count("<section>") == 2
    assert "新桥村“三五连心”联户名单公示" in html and "石门村“三五连心”联户名单公示" in html
    assert "13811112222" not in html  # villagers' own phones are never listed
    assert world.count(Household, Household.listed_on.is_not(None)) == 3
    with world.lx.session() as s:
        with pytest.raises(docs.PrintError, match="没有名为"):
            docs.render_listing(s, world.lx.config, village="不存在村", today=world.clock().date())


# ------------------------------------------------------------------------------------------ console


@pytest.fixture
def fake(world: World) -> Any:
    """The fake WeChat API behind the world's credentials: printing cards makes their QR codes there."""
    with FakeWechat() as f:
        world.lx.config.wechat.api_base = f.url
        yield f


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The background runs the console starts, recorded instead of started: the test runs them when it chooses."""
    started: list[int] = []
    monkeypatch.setattr(printing_views, "start_in_background", lambda lx, order_id: started.append(order_id))
    return started


@pytest.fixture
def inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The background run done at once, inside the request (so the redirect lands on the finished print)."""
    monkeypatch.setattr(
        printing_views, "start_in_background", lambda lx, order_id: card_codes.run_order(lx, order_id)
    )


def order_of(world: World, response: Any) -> PrintOrder:
    token = response.headers["Location"].rsplit("/", 1)[-1]
    return world.one(select(PrintOrder).where(PrintOrder.token == token))


def test_console_print_is_audited_and_scoped(world: World, fake: Any, inline: None) -> None:
    c = world.login("admin")
    r = c.post("/print/cards", {"village": "石门村", "format": "html"}, follow_redirects=True)
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert "钱石头" in text(r) and "张大山" not in text(r)
    r = c.post("/print/listing", {"village": ""}, follow_redirects=True)
    assert "新桥村" in text(r) and "石门村" in text(r)
    assert c.post("/print/cards", {"village": "不存在村"}).status_code == 400
    v = world.login("xinqiao")
    r = v.post("/print/cards", {}, follow_redirects=True)
    assert "张大山" in text(r) and "钱石头" not in text(r)
    actions = [(a.actor, a.action, a.target) for a in world.audits("cards.print")]
    assert actions == [
        ("console:admin", "cards.print", "village:石门村"),
        ("console:xinqiao", "cards.print", "village:新桥村"),
    ]
    assert world.audits("listing.print")[0].target == "village:*"


def test_a_first_print_makes_the_codes_in_the_background_and_shows_the_progress(
    world: World, fake: Any, runs: list[int]
) -> None:
    """One qrcode/create per card is no work for one HTTP request (nginx gives up after 30 s): the POST only
    records the order; its page shows the progress and reloads until the print is ready."""
    c = world.login("admin")
    r = c.post("/print/cards", {"village": "新桥村", "format": "html"})
    assert r.status_code == 303 and "/print/orders/" in r.headers["Location"]
    assert fake.qr_requests == 0  # nothing made inside the request
    order = order_of(world, r)
    assert runs == [order.id]
    page = c.get(r.headers["Location"])
    assert page.status_code == 200 and "正在" in text(page) and page.headers["Refresh"] == "2"
    with world.lx.session() as s:
        print_orders.progress(s, order.id, made=1, total=2, now=world.clock())
    assert "已完成 <b>1</b> / 2" in text(c.get(r.headers["Location"]))
    assert world.audits("cards.print") == []
    card_codes.run_order(world.lx, order.id)  # what the background thread does
    assert fake.qr_requests == 2
    done = c.get(r.headers["Location"])
    assert done.status_code == 200 and text(done).count("<svg") == 2 and "张大山" in text(done)
    assert [a.action for a in world_all_audit(world) if a.actor == "console:admin"][-2:] == [
        "cards.qr_create",
        "cards.print",
    ]


def test_the_print_page_survives_a_reload(world: World, fake: Any, inline: None) -> None:
    """Reopening a printed-cards tab (or the browser restoring it) is a GET: the print again, not a 405."""
    c = world.login("admin")
    r = c.post("/print/cards", {"village": "新桥村"})
    url = r.headers["Location"]
    first, again = c.get(url), c.get(url)
    assert first.status_code == again.status_code == 200
    assert text(first).count("<svg") == text(again).count("<svg") == 2
    assert len(world.audits("cards.print")) == 2  # each showing is a print, audited
    r = c.post("/print/listing", {"village": "新桥村"})
    assert c.get(r.headers["Location"]).status_code == 200 and c.get(r.headers["Location"]).status_code == 200


def test_a_print_page_is_only_for_whoever_asked(world: World, fake: Any, inline: None) -> None:
    url = world.login("admin").post("/print/cards", {"village": "新桥村"}).headers["Location"]
    assert world.login("xinqiao").get(url).status_code == 404
    assert world.login("admin").get(url.rsplit("/", 1)[0] + "/not-a-token").status_code == 404


def test_a_run_whose_worker_died_is_taken_over(world: World, fake: Any, runs: list[int]) -> None:
    c = world.login("admin")
    r = c.post("/print/cards", {"village": "新桥村"})
    order = order_of(world, r)
    with world.lx.session() as s:
        assert print_orders.claim(s, order.id, now=world.clock())  # a run starts …
        assert not print_orders.claim(s, order.id, now=world.clock())  # … and is the only one
    c.get(r.headers["Location"])
    assert runs == [order.id]  # alive: left alone
    world.clock.advance(seconds=61)  # … and its worker died: no heartbeat for a minute
    assert "正在" in text(c.get(r.headers["Location"]))
    assert runs == [order.id, order.id]
    card_codes.run_order(world.lx, order.id)
    assert text(c.get(r.headers["Location"])).count("<svg") == 2


def test_the_background_run_is_a_thread_of_its_own(
    world: World, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[Any] = []
    monkeypatch.setattr(
        printing_views,
        "start_in_background",
        lambda lx, order_id: threads.append(card_codes.start_order(lx, order_id)),
    )
    c = world.login("admin")
    r = c.post("/print/cards", {"village": "新桥村"})
    order = order_of(world, r)
    threads.append(card_codes.start_order(world.lx, order.id))  # a second start: the claim lets one run
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert world.one(select(PrintOrder.status).where(PrintOrder.id == order.id)) == "done"
    assert fake.qr_requests == 2
    assert text(c.get(r.headers["Location"])).count("<svg") == 2


def test_the_console_prints_without_codes_while_the_account_cannot_make_them(
    world: World, fake: Any, inline: None
) -> None:
    """48001 (微信认证 pending or lapsed): the print comes back without the codes, saying why; a later print adds
    them."""
    fake.qr_permission = False
    c = world.login("admin")
    r = c.post("/print/cards", {"village": "新桥村"}, follow_redirects=True)
    assert r.status_code == 200
    assert "<svg" not in text(r) and "48001" in text(r) and "重新打印" in text(r) and "发送卡号" in text(r)
    assert world.audits("cards.print")[-1].detail["qr"] is False
    fake.qr_permission = True
    r = c.post("/print/cards", {"village": "新桥村"}, follow_redirects=True)
    assert text(r).count("<svg") == 2 and "48001" not in text(r)


@needs_chromium
def test_console_print_pdf(world: World, fake: Any, inline: None) -> None:
    c = world.login("admin")
    r = c.post("/print/cards", {"village": "新桥村", "format": "pdf"}, follow_redirects=True)
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    r.close()


# ------------------------------------------------------------------------------------------ CLI


def _cli(world: World, *args: str) -> Any:
    from bot.cli import main

    return CliRunner().invoke(
        main,
        list(args),
        env={"LIANXIN_DATABASE_URL": world.lx.config.database_url, "LIANXIN_CONFIG": ""},
        catch_exceptions=False,
    )


def test_cli_cards_and_listing_html(world: World, tmp_path: Path) -> None:
    out = tmp_path / "cards.html"
    r = _cli(world, "cards", "--village", "新桥村", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "2 张服务卡（1 页）" in r.output
    html = out.read_text(encoding="utf-8")
    assert html.count('class="card"') == 2 and "李明" in html
    out2 = tmp_path / "listing.html"
    r = _cli(world, "listing", "--out", str(out2))
    assert r.exit_code == 0 and "石门村" in out2.read_text(encoding="utf-8")
    assert {a.action for a in world_all_audit(world) if a.actor == "cli"} == {"cards.print", "listing.print"}


def test_cli_refuses_bad_suffix_and_unknown_village(world: World, tmp_path: Path) -> None:
    r = _cli(world, "cards", "--out", str(tmp_path / "cards.docx"))
    assert r.exit_code != 0 and ".html 或 .pdf" in r.output
    r = _cli(world, "listing", "--village", "不存在村", "--out", str(tmp_path / "l.html"))
    assert r.exit_code != 0 and "没有名为「不存在村」的村(居)" in r.output
    assert not (tmp_path / "l.html").exists()


def test_cli_pdf_without_chromium_says_so(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(docs, "find_chromium", lambda: None)
    r = _cli(world, "cards", "--out", str(tmp_path / "cards.pdf"))
    assert r.exit_code != 0 and "未找到 Chromium" in r.output


@needs_chromium
def test_cli_pdf_with_chromium(world: World, tmp_path: Path) -> None:
    out = tmp_path / "listing.pdf"
    r = _cli(world, "listing", "--village", "新桥村", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF")


def world_all_audit(world: World) -> list[AuditLog]:
    with world.lx.session() as s:
        rows = list(s.scalars(select(AuditLog)))
        for x in rows:
            s.expunge(x)
        return rows
