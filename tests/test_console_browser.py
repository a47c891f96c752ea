"""End to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright): log in, compose and
publish a card, answer a request and see it arrive in the simulator, print service cards, use the simulator,
and the phone layout. Screenshots and PDFs go to artifacts/ (CI keeps them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import OutboxMessage, RequestReply, Task
from tests.fake_wechat import FakeWechat
from tests.support.console_world import PASSWORDS, World, build_world
from tests.support.serving import serve_in_thread

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} missing: install Debian chromium (apt-get install -y chromium)",
    ),
]


def flashed(page: Any) -> int:
    """How many success messages the page shows (waiting for the first): the clerk is told it worked, whatever
    the words (the change itself is asserted on the rows)."""
    page.wait_for_selector(".flash.ok")
    return page.locator(".flash.ok").count()


@pytest.fixture
def served(make_lx: Any, clock: Any) -> Iterator[tuple[World, str]]:
    w = build_world(make_lx(**{"console.simulator": True}), clock)
    with serve_in_thread(w.app) as base:
        yield w, base


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def login(page: Any, base: str, user: str = "admin") -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def test_login_and_dashboard(served: tuple[World, str], browser: Any) -> None:
    w, base = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert page.locator(".flash.error").inner_text() == "账号或密码不正确。"
    shot(page, "login-failed")
    login(page, base)
    assert page.locator("h1").first.inner_text().startswith("总览")
    assert page.get_by_text("今日民情日记").is_visible()
    shot(page, "dashboard")


def test_compose_and_publish_a_card(served: tuple[World, str], browser: Any) -> None:
    w, base = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.click("nav >> text=督办卡")
    page.click("summary >> text=新建督办卡")
    page.fill("#compose input[name=title]", "清理河道垃圾")
    page.fill("#compose textarea[name=body]", "各村清理河道两岸垃圾，反馈照片。")
    page.fill("#compose input[name=deadline]", "2026-11-28T18:00")
    page.check("#compose input[name=scope][value=village]")
    page.check("#compose input[name=villages][value=石门村]")
    shot(page, "card-compose")
    page.click("#compose button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert "已发布" in page.locator(".flash.ok").inner_text()
    assert "清理河道垃圾" in page.locator("h1").inner_text()
    assert page.get_by_role("link", name="王芳").is_visible()
    shot(page, "card-board")
    t = w.one(select(Task).where(Task.title == "清理河道垃圾"))
    assert t.published_at is not None and [str(x) for x in t.targets] == ["village:石门村"]
    assert w.count(OutboxMessage, OutboxMessage.kind == "task", OutboxMessage.openid == "demo-cadre-02") == 2


def test_answer_a_request_and_see_it_in_the_simulator(served: tuple[World, str], browser: Any) -> None:
    w, base = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.click("nav >> text=诉求")
    page.select_option("select[name=sla]", "late")
    page.click("form.filters button[type=submit]")
    page.click("table >> text=1")
    assert "饮水管冻裂了" in page.locator(".chatlog").inner_text()
    page.fill("textarea[name=text]", "已联系水管站，明天上午上门维修。")
    page.click("text=发送答复")
    page.wait_for_selector(".flash.ok")
    assert flashed(page) == 1  # the clerk is told it went (the reply row is checked below)
    assert "明天上午上门维修" in page.locator(".chatlog").inner_text()
    shot(page, "request-answered")
    assert w.count(RequestReply) == 1
    page.goto(base + "/simulator?openid=demo-villager-001")
    push = page.locator(".bubble.push").first
    assert "明天上午上门维修" in push.inner_text()
    shot(page, "simulator-villager-push")


def test_print_service_cards(served: tuple[World, str], browser: Any) -> None:
    w, base = served
    fake = FakeWechat().start()  # the cards' QR codes are made by the (fake) account on first print
    w.lx.config.wechat.api_base = fake.url
    from storage.models import Cadre
    from tests.support.factories import Factory

    with w.lx.session() as s:
        f = Factory(s)
        cadre = s.get(Cadre, w.ids["cadre_a"])
        for i in range(7):
            f.household(cadre, head_name=f"新桥农户{i}", card=f"1100000{i}", village=f.village("新桥村"))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.click("nav >> text=打印")
    form = page.locator("form").filter(has=page.locator("button[value=html]")).first
    form.locator("select[name=village]").select_option("新桥村")
    with page.expect_popup() as info:
        form.locator("button[value=html]").click()
    cards = info.value
    cards.wait_for_load_state()
    # the first print makes the codes in the background: its page shows the progress and reloads until done
    cards.wait_for_selector(".sheet", timeout=60_000)
    assert cards.locator(".sheet").count() == 2
    assert cards.locator(".sheet").first.locator(".card").count() == 8
    assert cards.locator(".card svg").count() == 9
    assert "李明" in cards.locator(".card").first.inner_text()
    cards.set_viewport_size({"width": 900, "height": 1200})
    shot(cards, "service-cards")
    cards.pdf(
        path=str(ARTIFACTS / "console-service-cards.pdf"),
        format="A4",
        print_background=True,
        prefer_css_page_size=True,
    )
    assert (ARTIFACTS / "console-service-cards.pdf").read_bytes().startswith(b"%PDF")
    # and the public listing
    form2 = page.locator("form").filter(has=page.locator("button[value=html]")).nth(1)
    form2.locator("select[name=village]").select_option("新桥村")
    with page.expect_popup() as info2:
        form2.locator("button[value=html]").click()
    listing = info2.value
    listing.wait_for_load_state()
    assert "新桥村“三五连心”联户名单公示" in listing.locator("h1").inner_text()
    shot(listing, "listing")
    listing.pdf(path=str(ARTIFACTS / "console-listing.pdf"), format="A4", prefer_css_page_size=True)
    assert [a.target for a in w.audits("cards.print")] == ["village:新桥村"]
    assert len(fake.qr_codes) == 9 and "lianxin-card:" not in cards.content()
    assert "服务卡号" not in listing.content() and "11000001" not in listing.content()
    fake.stop()


def test_unlink_a_households_wechat_account(served: tuple[World, str], browser: Any) -> None:
    w, base = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.goto(base + f"/households/{w.ids['hh_a']}")
    box = page.locator("#wechat-accounts")
    assert "关联的微信账号（1）" in box.inner_text() and "demo-villager-001" not in box.inner_text()
    shot(page, "household-accounts")
    page.once("dialog", lambda d: d.accept())
    box.locator("button", has_text="解除关联").click()
    page.wait_for_selector("text=已解除微信账号")
    assert "还没有微信账号关联这户" in page.locator("#wechat-accounts").inner_text()
    assert [a.action for a in w.audits("household.unlink")] == ["household.unlink"]


def test_simulator_chat(served: tuple[World, str], browser: Any) -> None:
    w, base = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.click("nav >> text=模拟聊天")
    page.select_option("select[name=openid]", "demo-cadre-01")
    page.click("text=进入")
    page.fill("#simform textarea[name=text]", "今天走访了张大山家，了解饮水管维修情况")
    page.click("#simform button[type=submit]")
    page.wait_for_selector(".bubble.bot")
    log = page.locator("#chatlog").inner_text()
    assert "今天走访了张大山家" in log
    assert page.locator(".bubble.bot").count() == 1
    shot(page, "simulator-cadre")
    from storage.models import DiaryEntry

    assert w.count(DiaryEntry, DiaryEntry.text.like("%饮水管维修%")) == 1


def test_phone_layout(served: tuple[World, str], browser: Any) -> None:
    w, base = served
    page = browser.new_page(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    login(page, base)
    assert not page.locator("nav a >> text=干部").is_visible()  # the menu is folded on a phone
    page.click("label.navbtn")
    assert page.locator("nav a >> text=总览").is_visible()
    # its groups are collapsed but the current page's: a tap on a group's name opens it
    assert not page.locator("nav a >> text=干部").is_visible()
    page.click("nav summary >> text=人员")
    assert page.locator("nav a >> text=干部").is_visible()
    shot(page, "phone-menu")
    page.click("nav a >> text=干部")
    # no horizontal scrolling of the page itself (tables scroll inside their box)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    page.goto(base + f"/requests/{w.ids['req_a']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-request")


ON_SCREEN = """(labels) => {
  const all = document.querySelectorAll("main table.cards");  // the page's main list is its last
  if (!all.length) return null;
  const t = all[all.length - 1];
  const row = t.rows[1], seen = {};
  for (const td of row.cells) {
    const r = td.getBoundingClientRect();
    if (labels.includes(td.dataset.label)) seen[td.dataset.label] = r.width > 0 && r.right <= window.innerWidth;
  }
  return seen;
}"""


@pytest.mark.parametrize(
    ("path", "key_columns"),
    [
        ("/tasks", ["灯", "卡号", "截止", "逾期"]),
        ("/requests", ["联系干部", "状态"]),
        ("/households", ["户主", "小组", "联系干部"]),
    ],
)
def test_phone_lists_are_cards_with_key_columns_on_screen(
    served: tuple[World, str], browser: Any, path: str, key_columns: list[str]
) -> None:
    """On a phone the busiest lists become one card per row, each value beside its column's name: status, cadre
    and deadline are on the screen, not off to the right of a table that scrolls sideways."""
    w, base = served
    page = browser.new_page(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    login(page, base)
    page.goto(base + path)
    seen = page.evaluate(ON_SCREEN, key_columns)
    assert seen == dict.fromkeys(key_columns, True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-cards" + path.replace("/", "-"))
    # a desktop keeps the table
    page.set_viewport_size({"width": 1366, "height": 900})
    assert page.locator("main table.cards tr.head").first.is_visible()


def test_a_months_ranking_is_provisional_on_its_first_days(
    served: tuple[World, str], browser: Any, clock: Any
) -> None:
    """On 2 December only one working day of the month has passed: the report page and the dashboard say the
    ranking is provisional, how many working days have passed and how many it takes; no rank moves are shown.
    Later in the month the note is gone."""
    w, base = served
    clock.set("2026-12-02 10:00")
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    login(page, base)
    note = page.locator("#provisional")
    assert "1 个工作日" in note.inner_text() and "5 个工作日" in note.inner_text()
    page.goto(base + "/reports?kind=month&period=2026-12")
    assert note.is_visible() and "暂定排名" in note.inner_text()
    assert "统计截至 2026-12-01" in page.locator("main").inner_text()  # never a November day
    assert page.locator("main table td small.muted", has_text="↑").count() == 0
    shot(page, "provisional-ranking")
    clock.set("2026-12-15 10:00")
    login(page, base)  # the session timed out meanwhile
    page.goto(base + "/reports?kind=month&period=2026-12")
    assert page.locator("#provisional").count() == 0
    assert "统计截至 2026-12-14" in page.locator("main").inner_text()


@pytest.mark.parametrize("width", [1366, 390])
def test_login_form_labels_each_sit_on_their_own_line(
    served: tuple[World, str], browser: Any, width: int
) -> None:
    """密码 used to sit at the end of the username's line: each label is now above its own field."""
    _w, base = served
    page = browser.new_page(viewport={"width": width, "height": 844})
    page.goto(base + "/login")
    user_box = page.locator("input[name=username]").bounding_box()
    label_box = page.locator("label", has=page.locator("input[name=password]")).bounding_box()
    pw_box = page.locator("input[name=password]").bounding_box()
    assert user_box and label_box and pw_box
    assert label_box["y"] >= user_box["y"] + user_box["height"]  # 密码 starts below the username field
    assert abs(pw_box["x"] - user_box["x"]) < 2  # the two fields line up
    shot(page, f"login-{width}")


def test_a_new_card_targets_cadres_picked_from_a_filtered_list(
    served: tuple[World, str], browser: Any
) -> None:
    """The clerk types part of a name, ticks the cadre (指定干部 is chosen with it) and publishes: no phone typed."""
    w, base = served
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    login(page, base)
    page.goto(base + "/tasks")
    page.click("summary >> text=新建督办卡")
    page.fill("#compose input[name=title]", "走访独居老人")
    page.fill("#compose input[name=deadline]", "2026-11-28T18:00")
    page.fill("#cadre-picker .pick-filter", "王")
    assert not page.locator("#cadre-picker .pick", has_text="李明").is_visible()
    page.locator("#cadre-picker .pick", has_text="王芳").locator("input").check()
    assert page.is_checked("#scope-cadre")
    page.fill("#household-search", "钱")  # the card's household, found by name as on the offline page
    page.locator("#household-found .pick", has_text="钱石头").locator("input").check()
    shot(page, "compose-pick-cadres")
    with page.expect_navigation():
        page.click("#compose button[type=submit]")
    assert flashed(page) == 1
    task = w.one(select(Task).where(Task.title == "走访独居老人"))
    from storage.models import TaskAssignment

    assert w.count(TaskAssignment, TaskAssignment.task_id == task.id) == 1
    assert (
        w.count(
            TaskAssignment, TaskAssignment.cadre_id == w.ids["cadre_b"], TaskAssignment.task_id == task.id
        )
        == 1
    )


def test_the_simulators_household_picker_is_searchable(served: tuple[World, str], browser: Any) -> None:
    """Typing part of a head's name narrows the simulator's household list and picks the first match."""
    w, base = served
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    login(page, base)
    page.goto(base + "/simulator")
    page.click("summary >> text=用新的微信号模拟")
    page.fill("#sim-household-filter", "钱石")
    assert page.input_value("#sim-household") == str(w.ids["hh_b"])
    shown = page.eval_on_selector_all(
        "#sim-household option[value]:not([value=''])",
        "os => os.filter(o => !o.hidden).map(o => o.textContent)",
    )
    assert shown and all("钱石" in t for t in shown)


def test_new_user_after_lianxin_demo(lx: Any, clock: Any, browser: Any) -> None:
    """The issue's "done when": after `lianxin demo`, log in with the printed login, find an overdue card,
    answer a villager's request and see the reply arrive in the simulator, print a village's cards and listing."""
    from bot.app import create_app
    from storage.demo.seed import DEMO_USERS, seed_demo

    clock.set("2026-11-24 17:00")
    lx.config.console.simulator = True  # as `lianxin demo` sets it
    with lx.session() as s:
        seed_demo(s, tz=lx.config.tz, now=clock())
    user, password = DEMO_USERS[0][0], DEMO_USERS[0][1]
    with FakeWechat() as fake, serve_in_thread(create_app(lx)) as base:
        lx.config.wechat.api_base = fake.url  # printing makes the cards' QR codes through the API
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        shot(page, "demo-dashboard")
        # an overdue card, from the dashboard
        row = page.locator("table tr", has=page.locator(".light.red")).first
        row.locator("td:nth-child(4) a").click()
        assert page.locator(".light.red").count() >= 1
        shot(page, "demo-overdue-card")
        # a villager's request past its time limit: answer it as the office
        page.goto(base + "/requests?status=open&sla=late")
        page.locator("table tr td:first-child a").first.click()
        page.fill("textarea[name=text]", "办公室已转告村委会，明天派人上门。")
        page.click("text=发送答复")
        page.wait_for_selector(".flash.ok")
        page.click("text=在模拟聊天中查看这位群众收到的消息")
        assert "办公室已转告村委会" in page.locator(".bubble.push").first.inner_text()
        shot(page, "demo-simulator-reply")
        # print a village's service cards and its public listing
        page.goto(base + "/print")
        forms = page.locator("form").filter(has=page.locator("button[value=html]"))
        for i, name in ((0, "demo-cards"), (1, "demo-listing")):
            forms.nth(i).locator("select[name=village]").select_option("新桥村")
            with page.expect_popup() as info:
                forms.nth(i).locator("button[value=html]").click()
            doc = info.value
            doc.wait_for_load_state()
            if name == "demo-cards":  # the cards come once their codes are made (the page reloads until then)
                doc.wait_for_selector(".sheet", timeout=60_000)
            shot(doc, name)
            doc.pdf(
                path=str(ARTIFACTS / f"console-{name}.pdf"),
                format="A4",
                print_background=True,
                prefer_css_page_size=True,
            )
            if name == "demo-cards":
                assert doc.locator(".sheet").first.locator(".card").count() == 8
                assert doc.locator(".card svg").count() == len(fake.qr_codes) > 0
            else:
                assert "新桥村“三五连心”联户名单公示" in doc.locator("h1").first.inner_text()


def test_the_console_works_under_its_content_security_policy(served: tuple[World, str], browser: Any) -> None:
    """Every kind of console page in Chromium with the CSP sent (tests/test_console_headers.py): nothing refused
    (a script, a style, an image, a frame, a form), the script's confirm still asks, the report's frame shows."""
    w, base = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    login(page, base)
    for path in (
        "/",
        "/cadres",
        f"/cadres/{w.ids['cadre_a']}",
        "/households",
        f"/households/{w.ids['hh_a']}",
        "/tasks",
        f"/tasks/{w.ids['task']}",
        "/requests",
        f"/requests/{w.ids['req_a']}",
        "/diaries",
        "/ledger",
        "/reports",
        "/print",
        "/simulator?openid=demo-cadre-01",
        "/delivery",
    ):
        page.goto(base + path)
        assert page.locator("h1").count() >= 1, path
    page.goto(base + "/reports")
    frame = page.frame_locator("iframe")
    assert frame.locator("h1").first.is_visible()  # the whole report, framed by its own site
    page.goto(base + f"/tasks/{w.ids['task']}")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.locator("button", has_text="撤销此卡").click()
    assert asked and "撤销" in asked[0]  # console.js runs (script-src 'self')
    assert refused == []


def test_held_delivery_says_why_and_resumes(served: tuple[World, str], browser: Any) -> None:
    from reminders import holds

    w, base = served
    holds.hold(w.lx, scope="all", errcode=48001, detail="48001 api unauthorized", now=w.lx.now())
    page = browser.new_page()
    login(page, base)
    page.goto(base + "/delivery")
    held = page.locator("#held")
    assert "48001" in held.inner_text() and "微信认证" in held.inner_text()
    shot(page, "delivery-held")
    held.get_by_role("button", name="原因已消除，立即恢复投递").click()
    assert flashed(page) == 1 and w.audits("outbox.resume")[0].actor == "console:admin"


def test_the_link_in_a_template_reads_on_its_recipients_phone_without_login(
    served: tuple[World, str], browser: Any
) -> None:
    """Chromium as the recipient's WeChat (the fake WeChat's web OAuth knows it by a header): the page opens,
    without login; in another WeChat or an ordinary browser it does not."""
    from storage.push_links import create_link

    w, base = served
    long_text = (
        "【督办卡第9号】冬季安全排查\n" + "请逐户检查取暖设施、电线和燃气管道，发现隐患当场登记并拍照，" * 4
    )
    with w.lx.session() as s:
        token = create_link(
            s, outbox_id=None, openid="o-x", kind="task", payload={"text": long_text}, now=w.lx.now(), days=7
        )
    with FakeWechat() as fake:
        w.lx.config.wechat.api_base = fake.url
        w.lx.config.wechat.oauth_base = fake.url
        w.lx.config.wechat.public_url = base
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        context.set_extra_http_headers({"X-Fake-Wechat-User": "o-x"})
        page = context.new_page()
        page.goto(f"{base}/m/{token}")
        # back from WeChat, the code gone from the address (the browser keeps the authorize link's fragment)
        assert page.url.split("#")[0] == f"{base}/m/{token}"
        assert "请逐户检查取暖设施" in page.locator("#message").inner_text()
        assert (
            page.evaluate("document.documentElement.scrollWidth") <= 390
        )  # no sideways scrolling on a phone
        assert page.locator("a").count() == 0
        shot(page, "push-link-phone")
        assert page.goto(f"{base}/m/{token[:-1]}").status == 404
        assert "已经失效" in page.locator("main").inner_text()
        context.close()
        other = browser.new_context(is_mobile=True)
        other.set_extra_http_headers({"X-Fake-Wechat-User": "o-someone-else"})
        page = other.new_page()
        page.goto(f"{base}/m/{token}")
        assert "不是发给您的" in page.locator("main").inner_text() and "取暖设施" not in page.content()
        other.close()
        plain = browser.new_page()  # an ordinary browser: WeChat's own page, no code
        plain.goto(f"{base}/m/{token}")
        assert "请在微信客户端打开" in plain.content() and "取暖设施" not in plain.content()
        plain.close()


def test_record_leave_and_approve_a_chat_request(served: tuple[World, str], browser: Any) -> None:
    from datetime import date

    from storage import leave as leave_svc
    from storage.models import Cadre, CadreLeave

    w, base = served
    with w.lx.session() as s:  # 王芳 asked by chat
        leave_svc.request_leave(
            s,
            cadre=s.get(Cadre, w.ids["cadre_b"]),
            start=date(2026, 11, 30),
            end=date(2026, 11, 30),
            reason="看病",
            now=w.clock(),
        )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.click("nav >> text=请假")
    assert page.locator("main .badge").first.inner_text().split()[1] == "1"  # pending: 1
    page.click("summary >> text=登记请假")
    page.select_option("#leave-form select[name=cadre_id]", str(w.ids["cadre_a"]))
    page.fill("#leave-form input[name=start]", "2026-11-25")
    page.fill("#leave-form input[name=end]", "2026-11-27")
    page.fill("#leave-form input[name=reason]", "县里培训")
    page.click("#leave-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert flashed(page) == 1
    with page.expect_navigation():
        page.click("table.leave button >> text=批准")
    assert flashed(page) == 1 and w.count(CadreLeave, CadreLeave.status == "requested") == 0
    shot(page, "leave")
    assert w.count(CadreLeave, CadreLeave.status == "approved") == 2
    assert (
        w.count(OutboxMessage, OutboxMessage.kind == "notice", OutboxMessage.openid == "demo-cadre-02") == 1
    )


def test_enter_a_paper_diary_and_a_phone_request(served: tuple[World, str], browser: Any) -> None:
    from storage.models import DiaryEntry, VillagerRequest

    w, base = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.click("nav >> text=线下补录")
    page.select_option("#paper-diary select[name=cadre_id]", str(w.ids["cadre_b"]))
    page.fill("#paper-diary input[name=day]", "2026-11-23")
    page.fill("#paper-diary textarea[name=text]", "走访钱石头家，调解宅基地纠纷")
    page.click("#paper-diary button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert flashed(page) == 1  # the entry itself is checked below
    page.fill("#household-search input[name=q]", "钱石头")
    page.click("#household-search button[type=submit]")
    page.click("#found-households >> text=选择")
    page.select_option("#offline-request select[name=channel]", "phone")
    page.fill("#offline-request textarea[name=text]", "电话反映：村道路灯坏了")
    page.click("#offline-request button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert flashed(page) == 1
    assert page.url.endswith("/requests/3")  # the new request's page, number 3
    shot(page, "offline-request")
    assert w.count(DiaryEntry, DiaryEntry.source == "paper", DiaryEntry.entered_by == "console:admin") == 1
    assert w.count(VillagerRequest, VillagerRequest.channel == "phone") == 1


def test_publish_the_months_circular(served: tuple[World, str], browser: Any) -> None:
    from storage.models import PublishedReport

    w, base = served
    w.clock.set("2026-12-02 10:00")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.goto(base + "/reports?kind=month&period=2026-11")
    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation():
        page.click("button >> text=发布本期月通报")
    assert flashed(page) == 1
    assert "2026-11" in page.locator("table.circulars").inner_text()
    shot(page, "circulars")
    assert w.count(PublishedReport, PublishedReport.period == "2026-11") >= 3
    assert w.count(OutboxMessage, OutboxMessage.kind == "notice") == 2


def test_print_a_cadres_and_a_villages_diary_book(served: tuple[World, str], browser: Any) -> None:
    from tests.test_diary_book import seed

    w, base = served
    seed(w)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.click("nav >> text=日记")
    page.select_option("#diary-book-cadre select[name=cadre]", str(w.ids["cadre_a"]))
    page.fill("#diary-book-cadre input[name=month]", "2026-11")
    with page.expect_popup() as popup:
        page.click("#diary-book-cadre button[type=submit]")
    book = popup.value
    book.wait_for_load_state()
    assert "李明" in book.locator(".meta").inner_text() and "2026年11月" in book.locator(".meta").inner_text()
    assert "LM-10P" in book.inner_text("body") and "WF-12A" not in book.inner_text("body")
    assert book.locator(".tag.paper").count() == 1 and book.locator(".photos img").count() == 1
    book.screenshot(path=str(ARTIFACTS / "console-diary-book.png"), full_page=True)
    page.select_option("#diary-book-village select[name=village]", str(w.ids["village_a"]))
    page.fill("#diary-book-village input[name=month]", "2026-11")
    with page.expect_popup() as popup:
        page.click("#diary-book-village button[type=submit]")
    village = popup.value
    village.wait_for_load_state()
    assert [s.get_attribute("data-cadre") for s in village.locator("section.book").all()] == ["李明", "陈静"]


def test_write_a_quarters_comment_and_commend_a_cadre(served: tuple[World, str], browser: Any) -> None:
    w, base = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.goto(base + "/reports?kind=quarter&period=2026Q4")
    page.select_option("#comment-form select[name=subject]", f"village:{w.ids['village_a']}")
    page.fill("#comment-form textarea[name=text]", "新桥村本季度走访扎实")
    with page.expect_navigation():
        page.click("#comment-form button[type=submit]")
    assert flashed(page) == 1
    assert "新桥村本季度走访扎实" in page.locator("#quarter-comments table").inner_text()
    shot(page, "quarter-comments")
    page.goto(base + "/reports?kind=year&period=2026")
    page.select_option("#commend-form select[name=cadre]", str(w.ids["cadre_b"]))
    page.fill("#commend-form input[name=reason]", "化解矛盾纠纷成效突出")
    with page.expect_navigation():
        page.click("#commend-form button[type=submit]")
    assert flashed(page) == 1
    assert "化解矛盾纠纷成效突出" in page.locator("#commendations table").inner_text()
    with page.expect_download() as dl:
        page.click("text=导出表彰名单（Excel）")
    assert dl.value.suggested_filename == "表彰名单-2026.xlsx"
    shot(page, "commendations")


def test_the_county_page_ranks_the_townships(lx: Any, clock: Any, browser: Any) -> None:
    """A county admin opens 全县排名: both townships ranked, the county's top and bottom cadres, downloads."""
    from tests.support.console_world import add_second_township

    w = build_world(lx, clock)
    add_second_township(w)
    with serve_in_thread(w.app) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, "county")
        page.click("nav >> text=全县排名")
        page.wait_for_url(base + "/county")
        rows = page.locator("#townships tr")
        assert rows.count() == 3  # the header and two townships
        names = {rows.nth(i).locator("td").nth(1).inner_text() for i in (1, 2)}
        assert names == {"龙伏镇", "青山镇"}
        assert page.get_by_text("全县前列").is_visible() and page.get_by_text("全县后列").is_visible()
        assert page.locator("a.button", has_text="XLSX").is_visible()
        shot(page, "county")
        page2 = browser.new_page()
        login(page2, base, "longfu")
        assert page2.locator("nav >> text=全县排名").count() == 0
        assert "龙伏镇" in page2.locator(".who").inner_text()


def test_a_township_office_and_the_county_publish_their_own_circulars(
    lx: Any, clock: Any, browser: Any
) -> None:
    """龙伏镇's office publishes its month from 已发布的通报 (no township to choose: its own); the county admin
    chooses 全县报表 in the same form; each sees what is theirs in the list."""
    from storage.models import PublishedReport
    from tests.support.console_world import add_second_township

    w = build_world(lx, clock)
    add_second_township(w)
    w.clock.set("2026-12-02 10:00")
    with serve_in_thread(w.app) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, "longfu")
        page.goto(base + "/circulars")
        assert page.locator("#publish-form select[name=township]").count() == 0
        page.fill("#publish-form input[name=period]", "2026-11")
        page.once("dialog", lambda d: d.accept())
        with page.expect_navigation():
            page.click("#publish-form button[type=submit]")
        assert flashed(page) == 1
        assert page.locator("table.circulars a", has_text="JSON").count() == 1
        shot(page, "circulars-township")

        county = browser.new_page(viewport={"width": 1280, "height": 900})
        login(county, base, "county")
        county.goto(base + "/circulars")
        county.select_option("#publish-form select[name=township]", "county")
        county.fill("#publish-form input[name=period]", "2026-11")
        county.once("dialog", lambda d: d.accept())
        with county.expect_navigation():
            county.click("#publish-form button[type=submit]")
        assert flashed(county) == 1
        listed = county.locator("table.circulars").inner_text()
        assert "龙伏镇" in listed and "全县" in listed
        shot(county, "circulars-county")
        page.reload()
        assert page.locator("table.circulars a", has_text="JSON").count() == 1  # not the county's
    assert w.count(PublishedReport, PublishedReport.township_id.is_(None)) >= 3
