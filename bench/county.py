"""Benchmark: one deployment for a county — 20 townships, 3,000 cadres, 100,000 households, a year of diaries —
on PostgreSQL: the county report, and a township office's console pages against the same pages of a deployment
that holds that one township alone (same size: 150 cadres, 5,000 households), measured in the same run.

    .venv/bin/python bench/county.py [--pg postgresql://lianxin:lianxin@127.0.0.1:5432/postgres] [-n 5] [--keep]

The data is bench/report.py's generator (bulk COPY: ~1,000,000 diary entries Jan–Nov 2026, 20,000 requests,
24 cards of the county each to 1,000 cadres, summaries, leave); for the county its 100 villages are shared out
among 20 townships (5 villages, 150 cadres, ~5,000 households each). The single township is the same generator
at 150 cadres, 5 villages, 5,000 households and 1,000 requests. Pages are fetched in-process with Flask's test
client as the township's admin (in the county: 第01镇's), after one warm-up; median and max of ``-n`` fetches.
Goals: the county report under 2 s; a township's pages in the county as fast as the lone township's.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.app import build, create_app  # noqa: E402
from storage.config import load_config  # noqa: E402
from storage.db import normalize_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import ConsoleUser, Township  # noqa: E402
from storage.timestamps import utcnow  # noqa: E402

DEFAULT_PG = "postgresql://lianxin:lianxin@127.0.0.1:5432/postgres"
TOWNSHIPS, VILLAGES_EACH = 20, 5
PAGES = [
    "/",
    "/cadres",
    "/cadres?q=干部1",
    "/cadres/{cadre}",
    "/households",
    "/households/{household}",
    "/tasks",
    "/tasks/1",
    "/requests",
    "/diaries",
    "/leave?month=2026-11",
    "/reports?kind=month&period=2026-11",
    "/ledger?month=2026-11",
]
PASSWORD = "bench-pass"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_report", Path(__file__).parent / "report.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fresh(server: Any, name: str) -> str:
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url: str = server.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url


def _drop(server: Any, name: str) -> None:
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                "AND pid <> pg_backend_pid()"
            )
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _users(url: str, county: bool) -> None:
    """第01镇's admin (the township's office) and, in the county, the county admin."""
    engine = create_engine(normalize_url(url))
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(PASSWORD)
    with engine.begin() as conn:
        users = [
            {
                "username": "town",
                "password_hash": cheap,
                "role": "admin",
                "township_id": 1,
                "active": True,
                "created_at": utcnow(),  # real time: a benchmark seeds its rows now
            }
        ]
        if county:
            users.append(
                {
                    "username": "county",
                    "password_hash": cheap,
                    "role": "county-admin",
                    "township_id": None,
                    "active": True,
                    "created_at": utcnow(),  # real time: a benchmark seeds its rows now
                }
            )
        conn.execute(insert(ConsoleUser), users)
    engine.dispose()


def seed_county(gen: Any, url: str) -> dict[str, int]:
    counts: dict[str, int] = gen.seed(url)
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE township SET name = '第01镇' WHERE id = 1"))
        conn.execute(insert(Township), [{"id": t, "name": f"第{t:02d}镇"} for t in range(2, TOWNSHIPS + 1)])
        conn.execute(text("SELECT setval(pg_get_serial_sequence('township', 'id'), :n)"), {"n": TOWNSHIPS})
        conn.execute(text("UPDATE village SET township_id = (id - 1) / :k + 1"), {"k": VILLAGES_EACH})
        conn.execute(
            text(
                "UPDATE cadre SET township_id = village.township_id FROM village "
                "WHERE village.id = cadre.village_id"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    _users(url, county=True)
    counts["townships"] = TOWNSHIPS
    return counts


def seed_single(gen: Any, url: str) -> dict[str, int]:
    gen.CADRES, gen.HOUSEHOLDS, gen.VILLAGES, gen.REQUESTS = 150, 5000, VILLAGES_EACH, 1000
    counts: dict[str, int] = gen.seed(url)
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE township SET name = '第01镇' WHERE id = 1"))
    engine.dispose()
    _users(url, county=False)
    return counts


def _login(app: Any, username: str) -> Any:
    c = app.test_client()
    tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True))
    assert tok
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": tok.group(1)})
    assert r.status_code == 302, r.status_code
    return c


def pages(urls: dict[str, str], n: int) -> list[tuple[str, dict[str, tuple[float, float]]]]:
    """Each page on both deployments, fetched alternately (one fetch here, one there) so that the machine's load
    falls on both alike."""
    clients = {}
    for which, url in urls.items():
        lx = build(load_config(overrides={"database.url": url}, env={}))
        clients[which] = (lx, _login(create_app(lx), "town"))
    out = []
    for page in PAGES:
        target = page.format(cadre=1, household=1)
        times: dict[str, list[float]] = {w: [] for w in urls}
        for which, (
            _,
            c,
        ) in clients.items():  # warm-up (the dashboard's first fetch builds the ranking, cached)
            assert c.get(target).status_code == 200, (which, target)
        for _ in range(n):
            for which, (_, c) in clients.items():
                t0 = time.perf_counter()
                r = c.get(target)
                times[which].append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200
        row = {w: (statistics.median(t), max(t)) for w, t in times.items()}
        out.append((target, row))
        print(
            f"  {target}: " + "; ".join(f"{w} {m:.0f} / {x:.0f} ms" for w, (m, x) in row.items()), flush=True
        )
    for lx, _ in clients.values():
        lx.close()
    return out


def reports(url: str, county: bool, runs: int = 5) -> list[tuple[str, str]]:
    from storage.assessment import build_report
    from storage.assessment.county import build_county_report

    gen_now = _generator().NOW
    lx = build(load_config(overrides={"database.url": url}, env={}))
    out = []
    jobs: list[tuple[str, Any]] = [
        (
            "township report month 2026-11 (第01镇)",
            lambda s: build_report(s, lx.config, "month", "2026-11", now=gen_now, township=(1, "第01镇")),
        )
    ]
    if county:
        jobs.append(
            (
                "county report month 2026-11 (20 townships)",
                lambda s: build_county_report(s, lx.config, "month", "2026-11", now=gen_now),
            )
        )
        jobs.append(
            (
                "county report year 2026",
                lambda s: build_county_report(s, lx.config, "year", "2026", now=gen_now),
            )
        )
    try:
        for label, job in jobs:
            walls, cpus = [], []
            for _ in range(runs if "year" not in label else 3):
                with lx.session() as s:
                    t, c = time.perf_counter(), time.process_time()
                    job(s)
                    walls.append(time.perf_counter() - t)
                    cpus.append(time.process_time() - c)
            walls.sort()
            out.append(
                (label, f"{walls[0]:.2f} s (median {walls[len(walls) // 2]:.2f}, client CPU {min(cpus):.2f})")
            )
            print(f"  {label}: {out[-1][1]}", flush=True)
    finally:
        lx.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("LIANXIN_BENCH_PG_URL", DEFAULT_PG))
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the two databases")
    args = ap.parse_args()
    print(f"# {' '.join([Path(sys.executable).name] + sys.argv)}")
    server = make_url(normalize_url(args.pg))
    names = {"single": "lianxin_bench_single_township", "county": "lianxin_bench_county"}
    report_rows: list[tuple[str, str, str]] = []
    try:
        urls = {}
        for which in ("single", "county"):
            urls[which] = _fresh(server, names[which])
            t = time.perf_counter()
            counts = (seed_county if which == "county" else seed_single)(_generator(), urls[which])
            print(f"{which}: seeded {counts} in {time.perf_counter() - t:.1f} s", flush=True)
        for which, url in urls.items():
            for label, cell in reports(url, county=which == "county"):
                report_rows.append((which, label, cell))
        rows = pages(urls, args.n)
    finally:
        if not args.keep:
            for name in names.values():
                _drop(server, name)
    print(f"\nload average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("\n| report | deployment | best of runs |\n|---|---|---|")
    for which, label, cell in report_rows:
        print(f"| {label} | {which} | {cell} |")
    print(
        "\n| page (as 第01镇's admin) | lone township median / max ms | in the county median / max ms |\n|---|---|---|"
    )
    for page, row in rows:
        (m1, x1), (m2, x2) = row["single"], row["county"]
        print(f"| `{page}` | {m1:.0f} / {x1:.0f} | {m2:.0f} / {x2:.0f} |")


if __name__ == "__main__":
    main()
