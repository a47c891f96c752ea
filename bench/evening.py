"""Benchmark: the county's evening (issue 27). 3,000 cadres, 100,000 households; at 21:00 `diary_reminders`
queues 3,000 pushes and `dispatch_outbox` sends them against the fake WeChat API answering in 50–150 ms a call,
while cadres' diaries arrive at 50 msg/s and two office users browse the console.

    .venv/bin/python bench/evening.py [--pg postgresql://lianxin:lianxin@127.0.0.1:5432/postgres] [--rate 50]
    (without --pg: SQLite only; with it: SQLite, then PostgreSQL on database lianxin_bench_evening, dropped after)

How it runs, per database:
- the link list of bench/import.py (100,000 households, 3,000 cadres), one bound account per cadre whose
  customer-service window is open (each wrote to us today: the reminder goes as a customer-service message);
- `lianxin serve --workers 2 --no-scheduler` against the database, its api_base the fake API;
- the fake API (tests/fake_wechat.py) in its own process, each call held 50–150 ms (uniform) before it answers;
- the scheduler's part done as the scheduler does it, in its own process: `jobs.diary_reminders` at 21:00 of a
  working day (the run's clock starts there and moves with real time), then `jobs.dispatch_outbox` every
  `[scheduler] dispatch_interval_seconds` (10 s; a run that takes longer is followed by the next at once, as
  APScheduler's max_instances=1 does);
- diaries: signed text messages from the cadres in turn, sent open-loop at --rate per second (latency counted
  from the moment each was due, so a slow server cannot slow the load down and hide its own delay);
- two office users, each logged in, fetching the dashboard, diaries, requests, cadres, households, tasks and the
  ledger in turn with a second between fetches.
Runs until every reminder is out (sent, merged into a digest, or dropped as expired) and at least --min-seconds.

Checked: every reminder queued is sent once (the fake received each cadre's reminder exactly once) or
withdrawn, none failed or left; every 2xx diary is a stored DiaryEntry; no non-2xx answers.
Goals (issue 27): inbound p99 < 200 ms during it; every reminder out within 10 minutes; nothing lost.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import multiprocessing as mp
import os
import random
import re
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import inbound  # noqa: E402  (bench/inbound.py: seeding, serving, the server's helpers)
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import func, insert, select, update  # noqa: E402

from bot.wechat.inbound import message_xml, signed_query  # noqa: E402
from storage.config import load_config  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import ConsoleUser, DiaryEntry, OutboxMessage, Township, WechatIdentity  # noqa: E402
from storage.outbox import user_window_columns  # noqa: E402
from storage.timestamps import utcnow  # noqa: E402
from storage.workdays import is_workday  # noqa: E402

PAGES = ("/", "/diaries", "/requests", "/cadres", "/households", "/tasks", "/ledger")
PASSWORD = "bench-password-1"
LATENCY = (0.05, 0.15)


# ------------------------------------------------------------------------------------------- fake API


def _fake_process(conn: Any, cadres: int) -> None:
    """The fake WeChat API, each call held 50–150 ms; reports its URL, then on request what it received."""
    from tests.fake_wechat import FakeWechat

    class SlowFake(FakeWechat):
        def _handle(self, req: Any, method: str) -> Any:  # type: ignore[override]
            time.sleep(random.uniform(*LATENCY))  # a realistic round trip to api.weixin.qq.com
            return super()._handle(req, method)

    with SlowFake() as fake:
        for i in range(cadres):
            fake.interact(f"{inbound.OPENID_PREFIX}{i:06d}")  # each cadre wrote to us today
        conn.send(fake.url)
        conn.recv()  # "report"
        conn.send([d.openid for d in fake.delivered])


# ------------------------------------------------------------------------------------------- scheduler


def first_evening(config: Any) -> datetime:
    """21:00 local of today if it is a working day and not past, else of the next working day (aware)."""
    tz = config.tz
    local = utcnow().astimezone(tz)
    day = local.date()
    while not is_workday(day, config) or (day == local.date() and local.time() >= dtime(21)):
        day += timedelta(days=1)
    return datetime.combine(day, dtime(21), tzinfo=tz)


def _scheduler_process(cfg_path: str, conn: Any, interval: float) -> None:
    """diary_reminders at the evening's 21:00, then dispatch_outbox every ``interval`` seconds until told to
    stop; the run's clock is 21:00 plus the real time elapsed."""
    from bot.app import build
    from reminders import jobs

    lx = build(load_config(cfg_path, env={}))
    t0 = first_evening(lx.config)
    started = time.monotonic()

    def now() -> datetime:
        return t0 + timedelta(seconds=time.monotonic() - started)

    res = jobs.diary_reminders(lx, now())
    conn.send(("queued", res.sent, time.monotonic() - started))
    while not conn.poll():
        tick = time.monotonic()
        jobs.dispatch_outbox(lx, now())
        time.sleep(max(0.0, interval - (time.monotonic() - tick)))
    lx.close()


# ------------------------------------------------------------------------------------------- load


class Diaries:
    """Signed diary texts, open-loop at ``rate`` a second, from the cadres in turn; latency from when each was
    due."""

    def __init__(self, port: int, rate: float, cadres: int, threads: int = 24) -> None:
        self.port, self.rate, self.threads, self.cadres = port, rate, threads, cadres
        self.latencies: list[float] = []
        self.status: dict[int, int] = {}
        self.errors = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.next_i = 0
        self.start_at = 0.0

    def _take(self) -> int:
        with self.lock:
            i = self.next_i
            self.next_i += 1
            return i

    def _worker(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.stop.is_set():
            i = self._take()
            due = self.start_at + i / self.rate
            time.sleep(max(0.0, due - time.monotonic()))
            if self.stop.is_set():
                break
            openid = f"{inbound.OPENID_PREFIX}{i % self.cadres:06d}"
            body = message_xml(
                openid,
                "text",
                create_time=int(time.time()),
                msg_id=7_000_000_000 + i,
                Content=f"走访第{i}户，了解冬季取暖情况",
            ).encode()
            q = urllib.parse.urlencode(signed_query(inbound.TOKEN, int(time.time())))
            code = None
            for _attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: once more, afresh
                try:
                    conn.request("POST", f"/wechat?{q}", body, {"Content-Type": "text/xml"})
                    r = conn.getresponse()
                    r.read()
                    code = r.status
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            if code is None:
                with self.lock:
                    self.errors += 1
                continue
            with self.lock:
                self.latencies.append(time.monotonic() - due)
                self.status[code] = self.status.get(code, 0) + 1
        conn.close()

    def start(self) -> list[threading.Thread]:
        self.start_at = time.monotonic() + 0.5
        ts = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.threads)]
        for t in ts:
            t.start()
        return ts


class Office:
    """An office user browsing the console: the pages in turn, a second apart."""

    def __init__(self, port: int, username: str, stop: threading.Event) -> None:
        self.base, self.username, self.stop = f"http://127.0.0.1:{port}", username, stop
        self.latencies: list[float] = []
        self.failures = 0
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def _login(self) -> None:
        page = self.opener.open(self.base + "/login", timeout=30).read().decode()
        tok = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert tok, "no csrf token on /login"
        data = urllib.parse.urlencode(
            {"username": self.username, "password": PASSWORD, "csrf_token": tok.group(1)}
        )
        self.opener.open(self.base + "/login", data.encode(), timeout=30).read()

    def run(self) -> None:
        self._login()
        i = 0
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                with self.opener.open(self.base + PAGES[i % len(PAGES)], timeout=60) as r:
                    r.read()
                    ok = r.status == 200 and "/login" not in r.geturl()
            except OSError:
                ok = False
            self.latencies.append(time.monotonic() - t)
            self.failures += not ok
            i += 1
            self.stop.wait(1.0)


# ------------------------------------------------------------------------------------------- database


def prepare(url: str, work: Path, households: int, cadres: int) -> None:
    inbound.prepare_db(url, work, households, cadres)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            update(WechatIdentity)
            .where(WechatIdentity.kind == "cadre")
            .values(**user_window_columns(utcnow()))
        )
        township_id = conn.scalar(select(func.min(Township.id)))
        hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
        conn.execute(
            insert(ConsoleUser),
            [
                {
                    "username": f"office{i}",
                    "password_hash": hasher.hash(PASSWORD),
                    "role": "admin",
                    "township_id": township_id,
                    "created_at": utcnow(),  # real time: a benchmark seeds its rows now
                    "active": True,
                }
                for i in (1, 2)
            ],
        )
    engine.dispose()


def outcome(url: str, first_id: int) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.id > first_id)
            .group_by(OutboxMessage.status)
        ).all()
        diaries = conn.scalar(select(func.count()).select_from(DiaryEntry)) or 0
    engine.dispose()
    return {**{s: n for s, n in rows}, "diaries": diaries}


def last_outbox_id(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.max(OutboxMessage.id))) or 0
    engine.dispose()
    return n


def left(url: str, first_id: int) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.id > first_id, OutboxMessage.status.in_(("pending", "sending")))
        )
    engine.dispose()
    return int(n or 0)


# ------------------------------------------------------------------------------------------- one run


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000


def evening(label: str, url: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    fake_end, fake_conn = ctx.Pipe()
    fake = ctx.Process(target=_fake_process, args=(fake_conn, args.cadres), daemon=True)
    fake.start()
    api = fake_end.recv()
    cfg = work / f"{label}.toml"
    cfg.write_text(
        f'[database]\nurl = "{url}"\n\n[wechat]\ntoken = "{inbound.TOKEN}"\napp_id = "wxtestappid"\n'
        f'app_secret = "testsecret"\napi_base = "{api}"\n\n[scheduler]\nenabled = false\n\n'
        '[console]\nsecret_key = "bench-evening-session-key-0123456789"\n',
        encoding="utf-8",
    )
    srv = inbound.start_lianxin(work, label, cfg, 2)
    first_id = last_outbox_id(url)
    diaries_before = outcome(url, first_id)["diaries"]
    stop = threading.Event()
    load = Diaries(srv.port, args.rate, args.cadres)
    office = [Office(srv.port, f"office{i}", stop) for i in (1, 2)]
    load_avg = [os.getloadavg()[0]]
    try:
        sched_end, sched_conn = ctx.Pipe()
        sched = ctx.Process(target=_scheduler_process, args=(str(cfg), sched_conn, 10.0), daemon=True)
        t21 = time.monotonic()
        sched.start()
        _, queued, _ = sched_end.recv()
        queued_at = time.monotonic() - t21
        # the diaries and the office's browsing from the moment the reminders are queued until all are out
        threads = load.start() + [threading.Thread(target=o.run, daemon=True) for o in office]
        for t in threads[load.threads :]:
            t.start()
        drained_at = None
        while time.monotonic() - t21 < args.cap:
            time.sleep(2)
            if drained_at is None and left(url, first_id) == 0:
                drained_at = time.monotonic() - t21
            if drained_at is not None and time.monotonic() - t21 >= args.min_seconds:
                break
        load_avg.append(os.getloadavg()[0])
        load.stop.set()
        stop.set()
        sched_end.send("stop")
        sched.join(60)
        for t in threads:
            t.join(35)
        time.sleep(1)
    finally:
        srv.stop() if hasattr(srv, "stop") else srv.proc.terminate()
        srv.proc.wait(30)
    fake_end.send("report")
    delivered = fake_end.recv()
    fake.join(10)
    out = outcome(url, first_id)
    ok2xx = sum(n for code, n in load.status.items() if 200 <= code < 300)
    office_lat = [x for o in office for x in o.latencies]
    res = {
        "label": label,
        "queued": queued,
        "queued_s": queued_at,
        "drained_s": drained_at,
        "delivered": len(delivered),
        "delivered_unique": len(set(delivered)),
        "statuses": {k: v for k, v in out.items() if k != "diaries"},
        "diaries_2xx": ok2xx,
        "diaries_stored": out["diaries"] - diaries_before,
        "non_2xx": sum(n for code, n in load.status.items() if not 200 <= code < 300),
        "socket_errors": load.errors,
        "inbound_n": len(load.latencies),
        "p50": pct(load.latencies, 50),
        "p95": pct(load.latencies, 95),
        "p99": pct(load.latencies, 99),
        "max": pct(load.latencies, 100),
        "console_n": len(office_lat),
        "console_p50": pct(office_lat, 50),
        "console_p99": pct(office_lat, 99),
        "console_failures": sum(o.failures for o in office),
        "load": load_avg,
    }
    print(fmt(res), flush=True)
    return res


def fmt(r: dict[str, Any]) -> str:
    drained = f"{r['drained_s']:.0f} s" if r["drained_s"] is not None else "NOT within the cap"
    return (
        f"{r['label']}: {r['queued']} reminders queued in {r['queued_s']:.1f} s, all out {drained} after 21:00 "
        f"(outbox: {r['statuses']}; the fake received {r['delivered']}, {r['delivered_unique']} cadres); "
        f"diaries {r['inbound_n']} at {args_rate} msg/s: p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f}, "
        f"p99 {r['p99']:.0f}, max {r['max']:.0f}; 2xx {r['diaries_2xx']}, stored {r['diaries_stored']}, "
        f"non-2xx {r['non_2xx']}, socket errors {r['socket_errors']}; console {r['console_n']} pages p50 "
        f"{r['console_p50']:.0f} ms p99 {r['console_p99']:.0f} ms, failures {r['console_failures']}; "
        f"load average {r['load'][0]:.2f} → {r['load'][1]:.2f}"
    )


args_rate = 50.0


def check(r: dict[str, Any]) -> list[str]:
    bad = []
    if r["drained_s"] is None:
        bad.append("reminders left in the outbox")
    if set(r["statuses"]) - {"sent", "expired", "merged"}:
        bad.append(f"reminders not sent: {r['statuses']}")
    if r["delivered"] != r["delivered_unique"] or r["delivered"] != r["statuses"].get("sent", 0):
        bad.append("a reminder delivered twice or a sent row the fake never received")
    if r["diaries_stored"] < r["diaries_2xx"]:
        bad.append("an acknowledged diary was not stored")
    if r["non_2xx"] or r["socket_errors"]:
        bad.append("refused or failed diaries")
    return bad


def main() -> None:
    global args_rate
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("LIANXIN_BENCH_PG_URL"))
    ap.add_argument("--rate", type=float, default=50.0, help="diaries a second")
    ap.add_argument("--min-seconds", type=float, default=60.0)
    ap.add_argument("--cap", type=float, default=900.0, help="give up after this many seconds")
    ap.add_argument("--cadres", type=int, default=3000)
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--only", choices=("sqlite", "pg"))
    args = ap.parse_args()
    args_rate = args.rate
    print(
        f"# {' '.join([Path(sys.executable).name] + sys.argv)}   load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="lianxin-evening-") as tmp:
        work = Path(tmp)
        if args.only != "pg":
            url = f"sqlite:///{work / 'evening.db'}"
            t = time.perf_counter()
            prepare(url, work, args.households, args.cadres)
            print(f"sqlite: seeded in {time.perf_counter() - t:.0f} s", flush=True)
            results.append(evening("sqlite", url, work, args))
        if args.pg and args.only != "sqlite":
            url, admin = inbound.recreate_pg(args.pg)
            try:
                prepare(url, work, args.households, args.cadres)
                results.append(evening("pg", url, work, args))
            finally:
                inbound.drop_pg(admin)
    failed = [(r["label"], b) for r in results for b in check(r)]
    for label, why in failed:
        print(f"FAILED {label}: {why}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
