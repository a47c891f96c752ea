"""Benchmark: import a generated link list of 100,000 households (3,000 cadres), then import it again.

    .venv/bin/python bench/import.py                       # SQLite in a temporary folder
    .venv/bin/python bench/import.py --pg postgresql://lianxin:lianxin@127.0.0.1:5432/postgres
    (or LIANXIN_BENCH_PG_URL=... ; a fresh database is created on that server and dropped afterwards)

Prints the time of the first import (everything new), the re-import (everything unchanged) and an
import with 1% of the households changed (population and cadre), each through the same functions as
``lianxin import``. Goal: first import under 60 s.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from storage.db import make_engine, make_sessionmaker, normalize_url, session_scope  # noqa: E402
from storage.importer import COLUMNS, import_file  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Household  # noqa: E402
from storage.timestamps import utcnow  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
GIVEN = "建国秀英桂兰国强德明永福玉珍志刚春梅大山金花文华小平正华明亮红梅德才世荣有才光明"


def generate(path: Path, households: int, cadres: int, seed: int = 1, changed: float = 0.0) -> None:
    rng = random.Random(seed)
    villages = max(1, households // 1000)
    per_cadre = households // cadres
    change = random.Random(seed + 1)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow([name for name, _ in COLUMNS])
        for i in range(households):
            c = min(i // per_cadre, cadres - 1)
            v = i * villages // households
            pop = rng.randint(1, 8)
            cadre_phone = f"139{c:08d}"
            if changed and change.random() < changed:
                pop = pop % 8 + 1
                c2 = (c + 1) % cadres
                cadre_phone = f"139{c2:08d}"
                c = c2
            w.writerow(
                [
                    f"第{v + 1}村",
                    f"{i % 12 + 1}组",
                    rng.choice(SURNAMES)
                    + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
                    + f"{i}",
                    f"138{i:08d}",
                    pop,
                    "",
                    f"干部{c}",
                    cadre_phone,
                    "村干部",
                    f"第{c % villages + 1}村委会",
                ]
            )


def run(url: str, workdir: Path, households: int, cadres: int) -> list[tuple[str, float, str]]:
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, clock=utcnow)  # real time: a benchmark seeds its rows now
    f1 = workdir / "links.csv"
    f2 = workdir / "links_changed.csv"
    generate(f1, households, cadres)
    generate(f2, households, cadres, changed=0.01)
    results = []
    for label, f in (("first import", f1), ("re-import (unchanged)", f1), ("import with 1% changed", f2)):
        t0 = time.perf_counter()
        with session_scope(sessions) as s:
            plan = import_file(s, f, actor="bench", township="示范镇")
        dt = time.perf_counter() - t0
        if not plan.ok:
            raise SystemExit(f"refused: {plan.problems[:5]}")
        c = plan.counts
        results.append(
            (
                label,
                dt,
                f"new {c['households_new']}, updated {c['households_updated']}, "
                f"unchanged {c['households_unchanged']}",
            )
        )
    with session_scope(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Household)) == households
    engine.dispose()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--cadres", type=int, default=3_000)
    ap.add_argument("--pg", default=os.environ.get("LIANXIN_BENCH_PG_URL"), help="PostgreSQL server URL")
    args = ap.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"households: {args.households}, cadres: {args.cadres}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        targets = [("SQLite", f"sqlite:///{work / 'bench.db'}")]
        admin = None
        if args.pg:
            server = make_url(normalize_url(args.pg))
            name = f"lianxin_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            targets.append(("PostgreSQL", server.set(database=name).render_as_string(hide_password=False)))
        try:
            for label, url in targets:
                for what, seconds, detail in run(url, work, args.households, args.cadres):
                    print(f"{label:10s} {what:24s} {seconds:7.1f} s   ({detail})", flush=True)
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
