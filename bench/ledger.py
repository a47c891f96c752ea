"""Benchmark: the 五个一 ledger at county scale (100,000 households, 3,000 cadres, 60,000 diary entries).

    .venv/bin/python bench/ledger.py                       # SQLite in a temporary folder
    .venv/bin/python bench/ledger.py --pg postgresql://lianxin:lianxin@127.0.0.1:5432/postgres
    (or LIANXIN_BENCH_PG_URL=... ; a fresh database is created on that server and dropped afterwards)

Rows are written with bulk INSERTs (the import is measured by bench/import.py). Then it times what
``lianxin ledger`` does — the per-cadre and per-village GROUP BY queries, the household list, and the JSON
and xlsx renderings — plus ``ledger_completion`` for every cadre (what the assessment weights), and
``link_mentions`` for one diary entry (what every chat diary entry costs). Goal: the whole ledger < 30 s.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from storage.db import make_engine, make_sessionmaker, normalize_url, session_scope  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    Cadre,
    DiaryEntry,
    DiaryMention,
    Household,
    Link,
    ServiceCard,
    Township,
    Village,
)
from storage.timestamps import utcnow  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"


def seed(url: str, households: int, cadres: int, entries_per_cadre: int) -> None:
    rng = random.Random(7)
    engine = make_engine(url)
    now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    villages = max(1, households // 1000)
    per = households // cadres
    with engine.begin() as conn:
        conn.execute(insert(Township), [{"id": 1, "name": "基准镇"}])
        conn.execute(
            insert(Village),
            [{"id": v + 1, "township_id": 1, "name": f"第{v + 1}村"} for v in range(villages)],
        )
        conn.execute(
            insert(Cadre),
            [
                {
                    "id": c + 1,
                    "name": f"干部{c}",
                    "phone": f"139{c:08d}",
                    "village_id": c * villages // cadres + 1,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for c in range(cadres)
            ],
        )
        hh, links, cards = [], [], []
        for i in range(households):
            complete = rng.random() < 0.6
            hh.append(
                {
                    "id": i + 1,
                    "village_id": i * villages // households + 1,
                    "head_name": rng.choice(SURNAMES) + rng.choice(SURNAMES) + str(i),
                    "population": 4,
                    "members": [{"name": "甲", "relation": "户主", "age": 50}] if complete else None,
                    "annual_income": Decimal("30000") if complete else None,
                    "industries": "烤烟" if complete else None,
                    "difficulties": "无" if complete else None,
                    "policy_done_on": date(2026, 6, 1) if rng.random() < 0.5 else None,
                    "listed_on": date(2026, 5, 1),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            links.append(
                {
                    "household_id": i + 1,
                    "cadre_id": min(i // per, cadres - 1) + 1,
                    "linked_at": now,
                    "commitment_signed_on": date(2026, 4, 1) if rng.random() < 0.7 else None,
                }
            )
            cards.append(
                {
                    "household_id": i + 1,
                    "number": f"{i + 1:08d}",
                    "issued_on": date(2026, 5, 1) if rng.random() < 0.8 else None,
                }
            )
        conn.execute(insert(Household), hh)
        conn.execute(insert(Link), links)
        conn.execute(insert(ServiceCard), cards)
        entries, mentions = [], []
        n = 0
        for c in range(cadres):
            for k in range(entries_per_cadre):
                n += 1
                day = date(2026, 11, 1) + timedelta(days=k % 24)
                entries.append(
                    {
                        "id": n,
                        "cadre_id": c + 1,
                        "day": day,
                        "text": "走访",
                        "source": "demo",
                        "role": "调查",
                        "created_at": now,
                    }
                )
                mentions.append({"diary_id": n, "household_id": c * per + rng.randrange(per) + 1})
        conn.execute(insert(DiaryEntry), entries)
        conn.execute(insert(DiaryMention), mentions)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # planner statistics, as a database in use has them
    engine.dispose()


def measure(url: str, households: int, cadres: int) -> dict[str, float]:
    from console.documents.ledger import to_json, to_xlsx
    from storage.ledger import build_ledger, ledger_completion, link_mentions, undone_duties

    engine = make_engine(url)
    sessions = make_sessionmaker(engine, clock=utcnow)  # real time: a benchmark seeds its rows now
    out: dict[str, float] = {}
    with session_scope(sessions) as s:
        t = time.perf_counter()
        led = build_ledger(s, today=date(2026, 11, 24))
        out["build_ledger"] = time.perf_counter() - t
        assert led["totals"]["households"] == households and len(led["cadres"]) == cadres
        t = time.perf_counter()
        to_json(led)
        out["json"] = time.perf_counter() - t
        t = time.perf_counter()
        to_xlsx(led)
        out["xlsx"] = time.perf_counter() - t
        t = time.perf_counter()
        build_ledger(s, today=date(2026, 11, 24), cadre_phone="13900000042")
        out["one_cadre"] = time.perf_counter() - t
        ids = list(s.scalars(select(Cadre.id)))
        t = time.perf_counter()
        ledger_completion(s, ids, month="2026-11")
        out["completion_all"] = time.perf_counter() - t
        t = time.perf_counter()
        undone = undone_duties(
            s, ("card", "commitment", "form")
        )  # what duty_reminders reads on a reminder day
        out["undone"] = time.perf_counter() - t
        out["undone_cadres"] = float(len(undone))
        names = list(s.scalars(select(Household.head_name).join(Link).where(Link.cadre_id == 43).limit(2)))
        from sqlalchemy import func

        next_id = (
            s.scalar(select(func.max(DiaryEntry.id))) or 0
        ) + 1  # ids were inserted explicitly (PostgreSQL)
        e = DiaryEntry(
            id=next_id,
            cadre_id=43,
            day=date(2026, 11, 24),
            text=f"走访{names[0]}和{names[1]}家",
            created_at=datetime.now(UTC),
        )
        s.add(e)
        t = time.perf_counter()
        found = link_mentions(s, e)
        out["link_mentions"] = time.perf_counter() - t
        assert len(found) == 2
        out["missing_rows"] = float(len(led["missing"]))
        s.rollback()
    engine.dispose()
    return out


def pg_database(server_url: str) -> tuple[str, object]:
    server = make_url(normalize_url(server_url))
    name = f"lianxin_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(
                text(
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                    "AND pid <> pg_backend_pid()"
                )
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--cadres", type=int, default=3_000)
    ap.add_argument("--entries", type=int, default=20, help="diary entries per cadre this month")
    ap.add_argument("--pg", default=os.environ.get("LIANXIN_BENCH_PG_URL"))
    args = ap.parse_args()
    targets: list[tuple[str, str, object]] = []
    tmp = tempfile.TemporaryDirectory()
    targets.append(("SQLite", f"sqlite:///{tmp.name}/bench.db", None))
    if args.pg:
        url, drop = pg_database(args.pg)
        targets.append(("PostgreSQL", url, drop))
    print(
        f"ledger benchmark: {args.households} households, {args.cadres} cadres, "
        f"{args.entries * args.cadres} diary entries this month"
    )
    for label, url, drop in targets:
        try:
            upgrade(url)
            t = time.perf_counter()
            seed(url, args.households, args.cadres, args.entries)
            seeded = time.perf_counter() - t
            r = measure(url, args.households, args.cadres)
            print(
                f"{label}: seed {seeded:.1f} s | build_ledger {r['build_ledger']:.2f} s "
                f"({int(r['missing_rows'])} households with something missing) | json {r['json']:.2f} s | "
                f"xlsx {r['xlsx']:.2f} s | one cadre {r['one_cadre'] * 1000:.0f} ms | "
                f"ledger_completion(all cadres) {r['completion_all'] * 1000:.0f} ms | "
                f"link_mentions {r['link_mentions'] * 1000:.1f} ms | "
                f"undone_duties {r['undone'] * 1000:.0f} ms ({int(r['undone_cadres'])} cadres behind)"
            )
        finally:
            if drop is not None:
                drop()  # type: ignore[operator]
    tmp.cleanup()


if __name__ == "__main__":
    main()
