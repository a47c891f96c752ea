"""Broadcast bench: one supervision card to 3,000 cadres, then delivery against the fake WeChat API.

    .venv/bin/python bench/broadcast.py --pg postgresql://lianxin:lianxin@127.0.0.1:5432/postgres
    (or LIANXIN_BENCH_PG_URL=... ; a fresh database is created on that server and dropped afterwards;
    without either only SQLite is measured)

Measures, per database:
- enqueue: ``storage.tasks.create_task`` to all 3,000 bound cadres (3,000 assignments + 3,000 outbox rows),
  one transaction, as the CLI and the console do it (goal: under 1 s);
- dispatch: ``reminders.delivery.dispatch_outbox`` draining those 3,000 pushes against the local fake API
  (tests/fake_wechat.py), with 1 dispatcher and with 2 dispatcher processes: customer-service messages, or
  with ``--channel template`` template messages (each with its link to the whole message).

The fake API runs in this process (a threaded HTTP server) and shares the 2 cores with the dispatchers, and its
template handler checks every key and value as WeChat does, so msg/s alone mixes its cost with ours. Printed
besides: the CPU seconds of the dispatcher processes (ours: claim, render, link rows, HTTP client, mark sent),
and this process's CPU during the drain, which does nothing but serve the fake (the fake's cost), each per
message.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, insert, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.app import build  # noqa: E402
from storage.config import ConfigError, load_config  # noqa: E402
from storage.db import normalize_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Cadre, OutboxMessage, TaskAssignment, Village, WechatIdentity  # noqa: E402

try:  # the same bench runs on the commit before the window model (bench/RESULTS.md: before/after in one go)
    from storage.outbox import user_window_columns  # noqa: E402
except ImportError:  # pragma: no cover - older tree

    def user_window_columns(at):  # type: ignore[no-untyped-def]
        return {"last_inbound_at": at}


from storage.timestamps import utcnow  # noqa: E402
from tests.fake_wechat import FakeWechat  # noqa: E402

N = 3000
CHANNEL = os.environ.get("LIANXIN_BENCH_CHANNEL", "custom")  # custom | template (set by --channel)


def make_lx(url: str, api: str):
    base = {
        "database.url": url,
        "wechat.api_base": api,
        "wechat.app_id": "wxtestappid",
        "wechat.app_secret": "testsecret",
    }
    try:
        return build(load_config(overrides={**base, "wechat.templates.task.id": "TPL_TASK"}, env={}))
    except ConfigError:  # the tree before [wechat.templates.KIND] tables
        return build(load_config(overrides={**base, "wechat.templates.task": "TPL_TASK"}, env={}))


def seed(url: str) -> list[str]:
    lx = make_lx(url, "http://127.0.0.1:9")
    now = utcnow()
    with lx.session() as s:
        from storage.models import Township

        t = Township(name="基准镇")
        s.add(t)
        s.flush()
        v = Village(township_id=t.id, name="基准村")
        s.add(v)
        s.flush()
        s.execute(
            insert(Cadre),
            [
                {"name": f"干部{i}", "phone": f"137{i:08d}", "village_id": v.id, "active": True}
                for i in range(N)
            ],
        )
        ids = list(s.scalars(select(Cadre.id).order_by(Cadre.id)))
        openids = [f"oBENCH{i:022d}" for i in range(N)]
        s.execute(
            insert(WechatIdentity),
            [
                {
                    "openid": o,
                    "kind": "cadre",
                    "cadre_id": cid,
                    "bound_at": now,
                    "first_seen_at": now,
                    **user_window_columns(now if CHANNEL == "custom" else None),
                }
                for o, cid in zip(openids, ids, strict=True)
            ],
        )
    lx.close()
    return openids


def enqueue(url: str) -> float:
    from handlers.task_notices import create_task

    lx = make_lx(url, "http://127.0.0.1:9")
    started = time.perf_counter()
    with lx.session() as s:
        create_task(
            s, title="全员督办", body="冬季安全排查", deadline=utcnow() + timedelta(days=2), now=utcnow()
        )
    elapsed = time.perf_counter() - started
    with lx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(TaskAssignment)) == N
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == N
    lx.close()
    return elapsed


def reset_outbox(url: str) -> None:
    lx = make_lx(url, "http://127.0.0.1:9")
    with lx.session() as s:
        s.execute(
            update(OutboxMessage).values(
                status="pending",
                attempts=0,
                claimed_by=None,
                claimed_until=None,
                sent_at=None,
                channel=None,
                next_attempt_at=utcnow(),
            )
        )
        s.execute(update(TaskAssignment).values(status="pending", delivered_at=None))
    lx.close()


def _dispatcher(url: str, api: str, name: str) -> tuple[int, float]:
    from reminders.delivery import dispatch_outbox

    lx = make_lx(url, api)
    cpu0 = time.process_time()
    sent = 0
    for _ in range(200):
        r = dispatch_outbox(lx, limit=200, worker=name)
        sent += r.sent
        with lx.sessions() as s:
            left = s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "sending")))
            )
        if not left:
            break
        if r.busy:
            time.sleep(0.05)
    cpu = time.process_time() - cpu0
    lx.close()
    return sent, cpu


def dispatch(url: str, openids: list[str], workers: int) -> tuple[float, int, float, float]:
    """(seconds, messages, CPU s of the dispatchers, CPU s of the fake API) for draining the outbox."""
    with FakeWechat(timeout_seconds=0.1) as fake:
        for o in openids if CHANNEL == "custom" else []:
            fake.interact(o)
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers) as pool:
            pool.map(abs, range(workers))  # the processes are up before the clock starts
            started, fake_cpu0 = time.perf_counter(), time.process_time()
            counts = pool.starmap(_dispatcher, [(url, fake.url, f"d{i}") for i in range(workers)])
            elapsed, fake_cpu = time.perf_counter() - started, time.process_time() - fake_cpu0
        delivered = [d.openid for d in fake.delivered]
    assert len(delivered) == N and len(set(delivered)) == N, (len(delivered), len(set(delivered)))
    assert sum(n for n, _ in counts) == N
    return elapsed, N, sum(c for _, c in counts), fake_cpu


def run(label: str, url: str) -> dict[str, float]:
    upgrade(url)
    openids = seed(url)
    out: dict[str, float] = {"enqueue": enqueue(url)}
    for workers in (1, 2):
        reset_outbox(url)
        elapsed, n, ours, fake_cpu = dispatch(url, openids, workers)
        out[f"dispatch{workers}"] = n / elapsed
        out[f"dispatch{workers}_s"] = elapsed
        out[f"ours{workers}_ms"] = ours / n * 1000
        out[f"fake{workers}_ms"] = fake_cpu / n * 1000
    print(
        f"{label}: enqueue {N} cadres {out['enqueue']:.3f} s; "
        f"dispatch 1 dispatcher {out['dispatch1']:.0f} msg/s ({out['dispatch1_s']:.1f} s), "
        f"2 dispatchers {out['dispatch2']:.0f} msg/s ({out['dispatch2_s']:.1f} s); CPU ms per message, "
        f"dispatchers / fake API: 1 dispatcher {out['ours1_ms']:.2f} / {out['fake1_ms']:.2f}, "
        f"2 dispatchers {out['ours2_ms']:.2f} / {out['fake2_ms']:.2f}; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("LIANXIN_BENCH_PG_URL"), help="PostgreSQL server URL")
    ap.add_argument(
        "--channel",
        choices=("custom", "template"),
        default="custom",
        help="custom: everyone's window open; template: nobody's (template messages with links)",
    )
    args = ap.parse_args()
    global CHANNEL
    CHANNEL = os.environ["LIANXIN_BENCH_CHANNEL"] = args.channel  # the spawned dispatchers read it too
    print(f"channel: {CHANNEL}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite (file, WAL)", f"sqlite:///{tmp}/bench.db")
    if args.pg:
        server = make_url(normalize_url(args.pg))
        name = f"lianxin_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run("PostgreSQL", server.set(database=name).render_as_string(hide_password=False))
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
    print(
        "command: .venv/bin/python bench/broadcast.py --pg postgresql://lianxin:lianxin@127.0.0.1:5432/postgres"
    )


if __name__ == "__main__":
    main()
