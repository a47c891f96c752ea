"""Benchmark: the assessment (月通报 / 季点评 / 年考核) on a county-scale database.

    .venv/bin/python bench/report.py                      # SQLite (temporary file) and PostgreSQL
    .venv/bin/python bench/report.py --pg URL             # PostgreSQL server (default below)
    .venv/bin/python bench/report.py --no-pg              # SQLite only
    .venv/bin/python bench/report.py --keep               # keep both databases afterwards

The data: 3,000 cadres in 100 villages, 100,000 households (links, service cards), about 1,000,000 diary
entries (each cadre writes on most days of Jan–Nov 2026, sometimes twice), 20,000 villager requests
(most answered, some late, some rated), 24 supervision cards each to 1,000 cadres, monthly summaries, leave.
Rows go in with bulk inserts: executemany on SQLite, COPY on PostgreSQL (database ``lianxin_bench_report``,
created afresh on the server and dropped at the end unless --keep). Then it times ``build_report`` for
November 2026 as of 1 Dec 09:00 (what the monthly_circular job does), the quarter and the year, and the
renderings. Goal: the monthly report under 2 s.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.app import build  # noqa: E402
from storage.config import load_config  # noqa: E402
from storage.db import normalize_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    Cadre,
    CadreLeave,
    Household,
    Link,
    MonthlySummary,
    ServiceCard,
    Task,
    TaskAssignment,
    Township,
    Village,
    WechatIdentity,
)
from storage.targets import Target  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_PG = "postgresql://lianxin:lianxin@127.0.0.1:5432/postgres"
DB_NAME = "lianxin_bench_report"
CADRES, HOUSEHOLDS, VILLAGES, REQUESTS = 3000, 100_000, 100, 20_000
FIRST_DAY, LAST_DAY = date(2026, 1, 1), date(2026, 11, 30)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TZ).astimezone(UTC)
SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy writes DateTime on SQLite


def utc(d: date, hour: int, minute: int = 0) -> datetime:
    """Naive UTC (how the raw bulk paths store UTCDateTime columns) for a local day and time."""
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=TZ).astimezone(UTC).replace(tzinfo=None)


def diary_rows(rng: random.Random, cadre_ids: range) -> Any:
    days = (LAST_DAY - FIRST_DAY).days + 1
    for cid in cadre_ids:
        p = rng.uniform(0.8, 1.0)  # how diligent this cadre is
        for k in range(days):
            if rng.random() < p:
                d = FIRST_DAY + timedelta(days=k)
                yield (
                    cid,
                    d,
                    "走访农户，了解生产生活情况",
                    "text",
                    utc(d, rng.randint(7, 22), rng.randint(0, 59)),
                )
                if rng.random() < 0.1:
                    yield (cid, d, "调解邻里纠纷", "text", utc(d, 23, 0))


def seed(url: str) -> dict[str, int]:
    rng = random.Random(11)
    engine = create_engine(normalize_url(url))
    start = datetime(2025, 12, 1, tzinfo=UTC)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        conn.execute(insert(Township), [{"id": 1, "name": "基准镇"}])
        conn.execute(
            insert(Village),
            [{"id": v + 1, "township_id": 1, "name": f"第{v + 1:03d}村"} for v in range(VILLAGES)],
        )
        conn.execute(
            insert(Cadre),
            [
                {
                    "id": c + 1,
                    "name": f"干部{c + 1}",
                    "phone": f"139{c + 1:08d}",
                    "post": "联户干部",
                    "village_id": c * VILLAGES // CADRES + 1,
                    "active": True,
                    "created_at": start,
                    "updated_at": start,
                }
                for c in range(CADRES)
            ],
        )
        per = HOUSEHOLDS // CADRES
        conn.execute(
            insert(Household),
            [
                {
                    "id": i + 1,
                    "village_id": min(i // per, CADRES - 1) * VILLAGES // CADRES + 1,
                    "head_name": f"户主{i + 1}",
                    "population": 4,
                    "created_at": start,
                    "updated_at": start,
                }
                for i in range(HOUSEHOLDS)
            ],
        )
        conn.execute(
            insert(Link),
            [
                {
                    "household_id": i + 1,
                    "cadre_id": min(i // per, CADRES - 1) + 1,
                    "linked_at": start,
                    "commitment_signed_on": date(2026, 3, 1) if rng.random() < 0.7 else None,
                }
                for i in range(HOUSEHOLDS)
            ],
        )
        conn.execute(
            insert(ServiceCard),
            [
                {
                    "household_id": i + 1,
                    "number": f"{i + 1:08d}",
                    "issued_on": date(2026, 3, 1) if rng.random() < 0.8 else None,
                }
                for i in range(HOUSEHOLDS)
            ],
        )
        counts["households"] = HOUSEHOLDS
        # leave: 300 cadres, 3–10 days somewhere in the year
        leave = []
        for c in rng.sample(range(1, CADRES + 1), min(300, CADRES // 10)):
            s = FIRST_DAY + timedelta(days=rng.randint(0, 320))
            leave.append(
                {
                    "cadre_id": c,
                    "start_date": s,
                    "end_date": s + timedelta(days=rng.randint(3, 10)),
                    "reason": "休假",
                }
            )
        conn.execute(insert(CadreLeave), leave)
        summaries = []
        for c in range(1, CADRES + 1):
            for m in range(1, 12):
                if rng.random() < 0.85:
                    late = rng.random() < 0.15
                    d = date(2026, m + 1, 2) if late else date(2026, m, 28)
                    summaries.append(
                        {
                            "cadre_id": c,
                            "month": f"2026-{m:02d}",
                            "text": "本月小结",
                            "submitted_at": utc(d, 20).replace(tzinfo=UTC),
                            "submitted_day": d,
                            "on_time": not late,
                        }
                    )
        conn.execute(insert(MonthlySummary), summaries)
        counts["summaries"] = len(summaries)
        tasks, assignments = [], []
        for n in range(24):
            m = n // 2 + 1 if n < 22 else 11
            deadline = utc(date(2026, m, 10 + (n % 2) * 10), 18).replace(tzinfo=UTC)
            tasks.append(
                {
                    "id": n + 1,
                    "number": n + 1,
                    "title": f"督办事项{n + 1}",
                    "body": "按要求完成",
                    "deadline": deadline,
                    "published_at": deadline - timedelta(days=7),
                    "targets": [Target.all()],
                    "created_by": "cli",
                    "created_at": deadline - timedelta(days=7),
                }
            )
            for c in rng.sample(range(1, CADRES + 1), min(1000, CADRES)):
                r = rng.random()
                fed = (
                    None
                    if r < 0.05
                    else deadline + timedelta(hours=rng.randint(-100, -1) if r < 0.85 else rng.randint(1, 48))
                )
                assignments.append(
                    {
                        "task_id": n + 1,
                        "cadre_id": c,
                        "status": "fed_back" if fed else "delivered",
                        "deadline": deadline,
                        "first_feedback_at": fed,
                        "returned_count": 1 if rng.random() < 0.03 else 0,
                    }
                )
        conn.execute(insert(Task), tasks)
        conn.execute(insert(TaskAssignment), assignments)
        counts["task assignments"] = len(assignments)
        hh_for_request = rng.sample(range(1, HOUSEHOLDS + 1), REQUESTS)
        conn.execute(
            insert(WechatIdentity),
            [
                {
                    "id": i + 1,
                    "openid": f"obench{i:08d}",
                    "kind": "villager",
                    "household_id": h,
                    "first_seen_at": start,
                    "window_sent": 0,
                    "subscribed": True,
                    "unreachable": False,
                }
                for i, h in enumerate(hh_for_request)
            ],
        )
    # diary entries and requests: the big tables, through the driver's fastest path
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        n = 0
        is_pg = engine.dialect.name == "postgresql"
        for block in range(0, CADRES, 250):
            rows = list(diary_rows(rng, range(block + 1, min(block + 250, CADRES) + 1)))
            n += len(rows)
            if is_pg:
                with cur.copy("COPY diary_entry (cadre_id, day, text, source, created_at) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
            else:
                cur.executemany(
                    "INSERT INTO diary_entry (cadre_id, day, text, source, created_at) VALUES (?, ?, ?, ?, ?)",
                    [(c, d.isoformat(), t, s, ts.strftime(SQLITE_TS)) for c, d, t, s, ts in rows],
                )
        counts["diary entries"] = n
        per = HOUSEHOLDS // CADRES
        requests = []
        for i, h in enumerate(hh_for_request):
            created = utc(
                FIRST_DAY + timedelta(days=rng.randint(0, 333)), rng.randint(0, 23), rng.randint(0, 59)
            )
            r = rng.random()
            answered = (
                None
                if r < 0.05
                else created
                + timedelta(minutes=rng.randint(5, 20 * 60) if r < 0.85 else rng.randint(25 * 60, 72 * 60))
            )
            sat = ("满意" if rng.random() < 0.85 else "不满意") if answered and rng.random() < 0.6 else None
            requests.append(
                (
                    i + 1,
                    h,
                    i + 1,
                    min((h - 1) // per, CADRES - 1) + 1,
                    "求助",
                    "服务",
                    "需要帮助",
                    "text",
                    created,
                    answered,
                    "answered" if answered else "open",
                    sat,
                    0,
                )
            )
        cols = (
            "number, household_id, identity_id, cadre_id, category, role, text, msg_type, created_at, first_answer_at, "
            "status, satisfaction, reopened_count"
        )
        if is_pg:
            with cur.copy(f"COPY villager_request ({cols}) FROM STDIN") as cp:
                for row in requests:
                    cp.write_row(row)
        else:
            cur.executemany(
                f"INSERT INTO villager_request ({cols}) VALUES ({', '.join('?' * 13)})",
                [
                    tuple(x.strftime(SQLITE_TS) if isinstance(x, datetime) else x for x in row)
                    for row in requests
                ],
            )
        counts["requests"] = len(requests)
        raw.commit()
        if is_pg:
            raw.driver_connection.autocommit = True
            raw.cursor().execute("VACUUM ANALYZE")
        else:
            raw.cursor().execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
    engine.dispose()
    return counts


def measure(url: str, label: str) -> list[tuple[str, str]]:
    """Each build several times: the machine is shared, so the best wall time and the process CPU time
    (which, for SQLite, includes the queries) are both printed."""
    from console.documents.report import render_html, render_json, render_xlsx
    from storage.assessment import build_report

    lx = build(load_config(overrides={"database.url": url}, env={}))
    out = []
    try:
        for kind, period, runs in (("month", "2026-11", 5), ("quarter", "2026Q4", 3), ("year", "2026", 3)):
            walls, cpus = [], []
            for _ in range(runs):
                with lx.session() as s:
                    t, c = time.perf_counter(), time.process_time()
                    report = build_report(s, lx.config, kind, period, now=NOW)
                    walls.append(time.perf_counter() - t)
                    cpus.append(time.process_time() - c)
            walls.sort()
            cell = f"{walls[0]:.2f} s (median {walls[len(walls) // 2]:.2f}, CPU {min(cpus):.2f})"
            out.append((f"build_report {kind} {period} — best of {runs}", cell))
            print(
                f"  {label}: build_report {kind} {period}: {cell} ({len(report.cadres)} cadres, "
                f"avg score {report.totals.avg_score})",
                flush=True,
            )
            if kind == "month":
                month_report = report
        for name, fn in (("json", render_json), ("xlsx", render_xlsx), ("html", render_html)):
            t = time.perf_counter()
            data = fn(month_report)
            cell = f"{time.perf_counter() - t:.2f} s"
            out.append((f"render month {name} ({len(data) / 1e6:.1f} MB)", cell))
            print(f"  {label}: render {name}: {cell} ({len(data):,} bytes)", flush=True)
    finally:
        lx.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("LIANXIN_BENCH_PG_URL", DEFAULT_PG))
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the generated databases")
    args = ap.parse_args()
    print(f"# {' '.join([Path(sys.executable).name] + sys.argv)}")
    results: dict[str, list[tuple[str, float]]] = {}

    if not args.no_sqlite:
        folder = tempfile.mkdtemp(prefix="lianxin-bench-report-")
        sqlite_url = f"sqlite:///{folder}/bench.db"
        upgrade(sqlite_url)
        t = time.perf_counter()
        counts = seed(sqlite_url)
        print(f"SQLite: seeded {counts} in {time.perf_counter() - t:.1f} s ({folder}/bench.db)", flush=True)
        results["SQLite"] = measure(sqlite_url, "SQLite")
        if not args.keep:
            for f in Path(folder).glob("bench.db*"):
                f.unlink()
            os.rmdir(folder)

    if not args.no_pg:
        server = make_url(normalize_url(args.pg))
        admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}"'))
            conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
        pg_url = server.set(database=DB_NAME).render_as_string(hide_password=False)
        try:
            upgrade(pg_url)
            t = time.perf_counter()
            counts = seed(pg_url)
            print(f"PostgreSQL: seeded {counts} in {time.perf_counter() - t:.1f} s", flush=True)
            results["PostgreSQL"] = measure(pg_url, "PostgreSQL")
        finally:
            if not args.keep:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}"'))
            admin.dispose()

    print(f"\nload average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("\n| step | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    steps = [s for s, _ in next(iter(results.values()))]
    for i, step in enumerate(steps):
        print(f"| {step} | " + " | ".join(r[i][1] for r in results.values()) + " |")


if __name__ == "__main__":
    main()
