"""Benchmark: how long one chat message takes from signed HTTP POST to reply, per kind of message
(WeChat waits 5 seconds). In-process through Flask's test client, so the figures are the bot's own time
(signature, XML, dedup insert, handler, commit) without network or server threads.

    .venv/bin/python bench/chat_latency.py [--pg postgresql://lianxin:lianxin@127.0.0.1:5432/postgres] [-n 200]

Set-up: a cadre with 30 linked households and a bound WeChat account, one linked villager, a 60-entry policy
handbook. Kinds measured: a plain diary entry, a villager request (with its outbox push), a policy question
(jieba ranking), `农户` (30 households), `本月`, and a duplicate (a WeChat retry answered from the stored reply).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from bot.app import build  # noqa: E402
from storage.config import load_config  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import PolicyEntry  # noqa: E402
from storage.timestamps import utcnow  # noqa: E402
from tests.support.factories import Factory  # noqa: E402
from tests.support.wechat_client import WechatClient, wechat_app  # noqa: E402

TOKEN = "bench-token"


def measure(url: str, n: int) -> dict[str, list[float]]:
    upgrade(url)
    lx = build(
        load_config(
            overrides={"database.url": url, "wechat.token": TOKEN, "wechat.app_id": "wxbench"}, env={}
        )
    )
    with lx.session() as s:
        f = Factory(s)
        cadre = f.cadre(name="李明", phone="13900001111")
        for i in range(30):
            f.household(cadre, head_name=f"农户{i}", card=f"9{i:07d}")
        f.identity("o-cadre", cadre=cadre)
        topics = [
            "环境卫生",
            "烤烟生产",
            "全民绿化",
            "计划生育",
            "综治维稳",
            "安全生产",
            "禁毒禁赌",
            "涉农法规",
            "办证须知",
        ]
        for i in range(60):
            s.add(
                PolicyEntry(
                    topic=topics[i % 9],
                    title=f"第{i}条 医保缴费与补贴说明{i}",
                    body="城乡居民医疗保险每年缴费，困难群众有补贴。" * 5,
                    keywords="医保 补贴 缴费",
                )
            )
    wc = WechatClient(wechat_app(lx).test_client(), TOKEN, utcnow)
    wc.text("o-villager", "90000001")
    kinds: dict[str, Any] = {
        "diary": lambda i: wc.text("o-cadre", f"今天走访第{i}户，了解烤烟收购情况"),
        "request": lambda i: wc.text("o-villager", f"我家水管坏了第{i}次，能帮忙看看吗"),
        "policy question": lambda i: wc.text("o-villager", "医保补贴政策怎么缴费？"),
        "农户 (30 households)": lambda i: wc.text("o-cadre", "农户"),
        "本月": lambda i: wc.text("o-cadre", "本月"),
        "duplicate (retry)": lambda i: wc.text("o-cadre", "重复的消息", msg_id=424242),
    }
    out: dict[str, list[float]] = {}
    for name, fn in kinds.items():
        fn(-1)  # warm-up
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            reply = fn(i)
            times.append((time.perf_counter() - t0) * 1000)
            assert reply, name
        out[name] = times
    lx.close()
    return out


def report(label: str, res: dict[str, list[float]]) -> None:
    print(f"\n{label}")
    print("| message | median ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    for name, t in res.items():
        t = sorted(t)
        print(f"| {name} | {statistics.median(t):.1f} | {t[int(len(t) * 0.95) - 1]:.1f} | {t[-1]:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default="")
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        report("SQLite (file, WAL)", measure(f"sqlite:///{d}/bench.db", args.n))
    if args.pg:
        from sqlalchemy.engine import make_url

        from storage.db import normalize_url

        server = make_url(normalize_url(args.pg))
        name = f"lianxin_bench_chat_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            report(
                "PostgreSQL 15",
                measure(server.set(database=name).render_as_string(hide_password=False), args.n),
            )
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
