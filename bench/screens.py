"""Screenshots of every console page, as the office, a village secretary and the read-only leader see it, on a
desktop (1366×900) and a phone (390×844) — for looking at, not for timing.

    .venv/bin/python bench/screens.py OUT_DIR [--port 8765] [--keep-db]

What it does: seeds the demo township (``lianxin demo --no-serve``) into a scratch SQLite database in a temporary
folder, serves it (``lianxin serve --no-scheduler``, the chat simulator on, as the demo has it), and for each of the
demo logins (admin / xinqiao / leader) walks the console from the dashboard: every link of a page that leads to
another page of the console is followed once per kind of page (``/cadres/7`` and ``/cadres/9`` are one kind: the
digits of a path are its ids; a link's query is kept only for a kind not yet seen). Downloads (xlsx, pdf) and
anything that is not an HTML page are skipped. Each page is saved full-length as
``OUT_DIR/<user>/<nn>-<kind>-desktop.png`` and ``…-phone.png``; on the phone the dashboard is also saved with the menu
open. Then the login page, a page that does not exist (404) and, as the leader, a form sent anyway (403).
``OUT_DIR/index.tsv`` lists user, file, URL and the page's title.

Chromium is Debian's (/usr/bin/chromium) driven by Playwright, as tests/test_console_browser.py launches it. The
demo's data are dated from the machine's clock (the day it is run on).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin" / "lianxin"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
USERS = [("admin", "demo-admin"), ("xinqiao", "demo-village"), ("leader", "demo-viewer")]
# never followed: they end the session, leave the console, or are its files rather than pages
SKIP = re.compile(r"^/(logout|static/|m/|healthz|wechat)")
MAX_PAGES = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kind_of(path: str) -> str:
    """The kind of page a path is: its digits (ids, dates) replaced, so one cadre stands for all of them."""
    return re.sub(r"\d+", "N", path.rstrip("/") or "/")


def slug(kind: str) -> str:
    s = re.sub(r"[^0-9A-Za-z]+", "-", kind).strip("-")
    return s or "dashboard"


def seed_and_serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    db = folder / "demo.db"
    config = folder / "config.toml"
    config.write_text("[console]\nsimulator = true\n", encoding="utf-8")
    env = dict(os.environ, LIANXIN_DATABASE_URL=f"sqlite:///{db}", LIANXIN_CONFIG=str(config))
    subprocess.run([str(BIN), "demo", "--no-serve"], check=True, env=env, stdout=subprocess.DEVNULL)
    log = open(folder / "serve.log", "wb")  # noqa: SIM115 - open for the server's lifetime
    proc = subprocess.Popen(
        [str(BIN), "serve", "--no-scheduler", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"the server did not start; see {folder / 'serve.log'}")


def login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def links(page: Any, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    out = []
    for h in hrefs:
        url = urljoin(page.url, h)
        parts = urlsplit(url)
        if not url.startswith(base) or parts.scheme not in ("http", "https") or SKIP.match(parts.path):
            continue
        out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def save(page: Any, out: Path, name: str) -> None:
    page.screenshot(path=str(out / name), full_page=True)


def visit(pages: dict[str, Any], base: str, target: str) -> str | None:
    """Open ``target`` in both viewports; the page's title, or None when it is no HTML page (a download)."""
    title = None
    for page in pages.values():
        try:
            resp = page.goto(base + target)
        except Exception:  # noqa: BLE001 - "Download is starting" and friends: not a page
            return None
        if resp is None or "text/html" not in (resp.headers.get("content-type") or ""):
            return None
        title = page.title()
    return title


def forms(pages: dict[str, Any], base: str, out: Path) -> None:
    """The pages that only a form opens: the printed service cards and public listing (a new tab), and a
    binding slip (a new binding code: the scratch database's)."""
    for name, page in pages.items():
        page.on("dialog", lambda d: d.accept())
        for kind in ("cards", "listing"):
            page.goto(base + "/print")
            button = page.locator(f"form[action$='/print/{kind}'] button[value=html]")
            if not button.count():
                continue
            with page.expect_popup() as popup:
                button.click()
            printed = popup.value
            for _ in range(60):  # the cards' codes are made first: the progress page reloads itself
                printed.wait_for_load_state()
                if "正在准备" not in printed.title():
                    break
                time.sleep(0.5)
            save(printed, out, f"80-print-{kind}-{name}.png")
            printed.close()
        page.goto(base + "/cadres")
        first = page.locator("table a[href^='/cadres/']").first
        if first.count():
            first.click()
            bind = page.locator("form[action$='/bind-code'] button")
            if bind.count():
                bind.click()
                page.wait_for_load_state()
                save(page, out, f"81-bind-slip-{name}.png")


def walk(browser: Any, base: str, username: str, password: str, out: Path, index: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    pages = {name: browser.new_context(viewport=vp).new_page() for name, vp in VIEWPORTS.items()}
    for page in pages.values():
        login(page, base, username, password)
    queue, seen, n = ["/"], set(), 0
    while queue and n < MAX_PAGES:
        target = queue.pop(0)
        kind = kind_of(urlsplit(target).path)
        if kind in seen:
            continue
        seen.add(kind)
        title = visit(pages, base, target)
        if title is None:
            continue
        n += 1
        for name, page in pages.items():
            file = f"{n:02d}-{slug(kind)}-{name}.png"
            save(page, out, file)
            index.append(f"{username}\t{file}\t{target}\t{title}")
        if target == "/":
            phone = pages["phone"]
            toggle = phone.locator("label.navbtn, .navbtn").first
            if toggle.count() and toggle.is_visible():
                toggle.click()
                save(phone, out, f"{n:02d}-dashboard-phone-menu.png")
                index.append(f"{username}\t{n:02d}-dashboard-phone-menu.png\t/\tmenu open")
        queue.extend(t for t in links(pages["desktop"], base) if kind_of(urlsplit(t).path) not in seen)
    if username != "leader":
        forms(pages, base, out)
    # the pages a clerk meets by mistake: a record that does not exist, and (as the leader) a form sent anyway
    for name, page in pages.items():
        page.goto(base + "/cadres/999999")
        save(page, out, f"90-not-found-{name}.png")
        if username == "leader":
            page.goto(base + "/")
            page.evaluate(
                """() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/leave';
                   const t = document.querySelector('input[name=csrf_token]');
                   if (t) f.appendChild(t.cloneNode()); document.body.appendChild(f); f.submit(); }"""
            )
            page.wait_for_load_state()
            save(page, out, f"91-forbidden-{name}.png")
    for page in pages.values():
        page.context.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--keep-db", action="store_true", help="leave the scratch folder (database, server log)")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="lianxin-screens-"))
    port = a.port or free_port()
    proc = seed_and_serve(folder, port)
    base = f"http://127.0.0.1:{port}"
    index: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                for name, vp in VIEWPORTS.items():  # the login page, before anyone is logged in
                    page = browser.new_context(viewport=vp).new_page()
                    page.goto(base + "/login")
                    a.out.mkdir(parents=True, exist_ok=True)
                    save(page, a.out, f"login-{name}.png")
                    page.context.close()
                for username, password in USERS:
                    walk(browser, base, username, password, a.out / username, index)
            finally:
                browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    (a.out / "index.tsv").write_text("\n".join(index) + "\n", encoding="utf-8")
    print(f"{len(index)} screenshots in {a.out}" + (f"; scratch folder {folder}" if a.keep_db else ""))
    if not a.keep_db:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
