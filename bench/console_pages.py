"""Console page bench: how long the office's pages take on a county-sized township.

    .venv/bin/python bench/console_pages.py [--pg postgresql://lianxin:lianxin@127.0.0.1:5432/postgres]
                                            [--households 30000] [--cadres 1000] [-n 5]

Set-up (per database): a link list imported with the real importer (bench/import.py's generator), then
one month of diary entries (every cadre, 20 days), 3,000 villager requests, and one supervision card to every
cadre. Pages are fetched in-process with Flask's test client as the office (admin), after one warm-up; the
figures are the console's own time (queries + templates), median and max of ``-n`` fetches.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.app import build, create_app  # noqa: E402
from storage.config import load_config  # noqa: E402
from storage.db import normalize_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Cadre, ConsoleUser, DiaryEntry, Household, Link, VillagerRequest, WechatIdentity  # noqa: E402
from storage.targets import Target  # noqa: E402
from storage.timestamps import utcnow  # noqa: E402

PAGES = [
    "/",
    "/cadres",
    "/cadres?q=干部12",
    "/cadres/{cadre}",
    "/households",
    "/households?q=138000123",
    "/households/{household}",
    "/tasks",
    "/tasks/1",
    "/requests",
    "/requests?status=open&sla=late",
    "/diaries",
    "/diaries?q=走访",
    "/reports",
    "/ledger",
    "/print",
]


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("bench_import", Path(__file__).parent / "import.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def seed(url: str, workdir: Path, households: int, cadres: int) -> tuple[int, int]:
    from handlers import task_notices as tasks
    from storage.importer import import_file

    gen = _generator()
    csv_path = workdir / "links.csv"
    gen.generate(csv_path, households, cadres)  # type: ignore[attr-defined]
    lx = build(load_config(overrides={"database.url": url}, env={}))
    now = utcnow()
    tz = lx.config.tz
    today = now.astimezone(tz).date()
    with lx.session() as s:
        plan = import_file(s, csv_path, actor="bench", now=now)
        assert plan.ok, plan.problems[:3]
    with lx.session() as s:
        cadre_ids = list(s.scalars(select(Cadre.id).order_by(Cadre.id)))
        days = [today - timedelta(days=i) for i in range(20)]
        rows = [
            {
                "cadre_id": c,
                "day": d,
                "text": f"走访联系户，了解生产生活情况（{d.isoformat()}）",
                "source": "text",
                "created_at": now,
            }
            for c in cadre_ids
            for d in days
        ]
        for i in range(0, len(rows), 5000):
            s.execute(insert(DiaryEntry), rows[i : i + 5000])
        links = s.execute(
            select(Link.household_id, Link.cadre_id).order_by(Link.household_id).limit(3000)
        ).all()
        idents = [
            {
                "openid": f"bench-v-{h}",
                "kind": "villager",
                "household_id": h,
                "first_seen_at": now,
                "window_sent": 0,
                "subscribed": True,
                "unreachable": False,
            }
            for h, _ in links
        ]
        s.execute(insert(WechatIdentity), idents)
        ident_ids = dict(
            s.execute(
                select(WechatIdentity.household_id, WechatIdentity.id).where(
                    WechatIdentity.openid.like("bench-v-%")
                )
            )
            .tuples()
            .all()
        )
        reqs = [
            {
                "number": n + 1,
                "household_id": h,
                "identity_id": ident_ids[h],
                "cadre_id": c,
                "category": "求助",
                "text": "家里饮水管冻裂，请帮忙联系维修",
                "msg_type": "text",
                "status": "open",
                "created_at": now - timedelta(hours=n % 72),
                "reopened_count": 0,
            }
            for n, (h, c) in enumerate(links)
        ]
        s.execute(insert(VillagerRequest), reqs)
        tasks.create_task(
            s,
            title="冬季防火入户宣传",
            body="逐户宣传",
            deadline=now + timedelta(days=3),
            targets=[Target.all()],
            actor="bench",
            now=now,
            tz=tz,
        )
        s.add(
            ConsoleUser(
                username="admin",
                password_hash=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("bench-pass"),
                role="admin",
            )
        )
        first_cadre = cadre_ids[0]
        first_household = s.scalar(select(Household.id).order_by(Household.id))
    lx.close()
    return first_cadre, first_household


def measure(url: str, cadre: int, household: int, n: int) -> list[tuple[str, float, float]]:
    import re

    lx = build(load_config(overrides={"database.url": url}, env={}))
    app = create_app(lx)
    c = app.test_client()
    tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert (
        c.post("/login", data={"username": "admin", "password": "bench-pass", "csrf_token": tok}).status_code
        == 302
    )
    out = []
    for page in PAGES:
        url_ = page.format(cadre=cadre, household=household)
        t0 = time.perf_counter()
        r = c.get(url_)
        first = (time.perf_counter() - t0) * 1000
        assert r.status_code == 200, (url_, r.status_code)
        if page == "/":  # the first dashboard of a process builds the month's ranking (then cached 5 min)
            out.append(("/ (first: ranking built)", first, first))
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            r = c.get(url_)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200
        out.append((url_, statistics.median(times), max(times)))
    lx.close()
    return out


def run(url: str, households: int, cadres: int, n: int) -> list[tuple[str, float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        upgrade(url)
        t0 = time.perf_counter()
        cadre, household = seed(url, Path(tmp), households, cadres)
        print(f"  seeded in {time.perf_counter() - t0:.1f} s", flush=True)
        return measure(url, cadre, household, n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--pg", default=None, help="PostgreSQL server URL (a fresh database is created and dropped)"
    )
    ap.add_argument("--households", type=int, default=30000)
    ap.add_argument("--cadres", type=int, default=1000)
    ap.add_argument("-n", type=int, default=5)
    args = ap.parse_args()
    results: dict[str, list[tuple[str, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        print(f"SQLite: {args.households} households, {args.cadres} cadres", flush=True)
        results["SQLite"] = run(url, args.households, args.cadres, args.n)
    if args.pg:
        server = make_url(normalize_url(args.pg))
        name = f"lianxin_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            print(f"PostgreSQL: {args.households} households, {args.cadres} cadres", flush=True)
            results["PostgreSQL"] = run(
                server.set(database=name).render_as_string(hide_password=False),
                args.households,
                args.cadres,
                args.n,
            )
        finally:
            with admin.connect() as conn:
                conn.execute(
                    text(
                        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                        "AND pid <> pg_backend_pid()"
                    )
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()
    dbs = list(results)
    print("\n| page | " + " | ".join(f"{d} median / max ms" for d in dbs) + " |")
    print("|---|" + "---|" * len(dbs))
    for i, (page, _, _) in enumerate(results[dbs[0]]):
        cells = [f"{results[d][i][1]:.0f} / {results[d][i][2]:.0f}" for d in dbs]
        print(f"| `{page}` | " + " | ".join(cells) + " |")
    print(
        f"\ncommand: .venv/bin/python bench/console_pages.py --households {args.households} --cadres {args.cadres} "
        f"-n {args.n}" + (" --pg " + args.pg if args.pg else "")
    )


if __name__ == "__main__":
    main()
