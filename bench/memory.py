"""Benchmark: resident memory (RSS) of the `lianxin serve` workers while they take 100,000 messages.

    .venv/bin/python bench/memory.py                                   # SQLite
    .venv/bin/python bench/memory.py --pg postgresql://lianxin:lianxin@127.0.0.1:5432/postgres

Serves `lianxin serve --workers 2 --no-scheduler` (gunicorn, 2 gthread workers) on a database seeded like
bench/inbound.py (bound cadres of a generated link list), then drives signed diary-entry messages with wrk
(20 connections, a unique MsgId per request, the same Lua script as bench/inbound.py) in --steps equal
chunks up to --messages in all, and reads VmRSS from /proc/PID/status of every worker after start-up (0
messages) and after each chunk, once the database shows every message handled. The messages counted are
the stored InboundMessage rows (all of them must be `handled` with a diary entry).

Goal: every worker under 150 MB and not growing (from its first sample after it took traffic to the end,
each worker's RSS grows by under 5 MB). PSS (shared pages split between processes) is shown beside RSS. With 2 workers each takes about half the messages; --messages 200000 gives each
worker about 100,000.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inbound as ib  # noqa: E402

GOAL_MB = 150
GROWTH_MB = 5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ib.common_args(ap)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--db", choices=("sqlite", "pg"), default=None, help="default: pg with --pg, else sqlite")
    args = ap.parse_args()
    db = args.db or ("pg" if args.pg else "sqlite")
    if db == "pg" and not args.pg:
        raise SystemExit("--db pg needs --pg URL (or $LIANXIN_BENCH_PG_URL)")
    print(f"command: .venv/bin/python bench/memory.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"machine: {os.cpu_count()} CPUs; {db}; lianxin serve --workers {args.workers}; wrk -t{args.threads} "
        f"-c{args.connections}; {args.messages} messages in {args.steps} steps",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="lianxin-memory-") as tmp:
        work = Path(tmp)
        admin = None
        if db == "pg":
            url, admin = ib.recreate_pg(args.pg)
        else:
            url = f"sqlite:///{work / 'memory.db'}"
        try:
            n = ib.prepare_db(url, work, args.households, args.cadres)
            print(f"seeded: {n} bound cadres", flush=True)
            srv = ib.start_lianxin(work, "memory", ib.write_config(work, "memory", url), args.workers)
            try:
                rows = run(srv, ib.Wrk(work, n, args.connections, args.threads), url, args)
            finally:
                srv.stop()
        finally:
            if admin is not None:
                admin.dispose() if args.keep else ib.drop_pg(admin)
    report(rows)


Sample = dict[int, tuple[int, int, float]]  # pid -> (VmRSS kB, Pss kB, CPU seconds)


def sample(pids: list[int]) -> Sample:
    return {p: (ib.rss_kb(p), pss_kb(p), ib.cpu_seconds(p)) for p in pids}


def pss_kb(pid: int) -> int:
    """Proportional set size: shared pages (libraries, the copy-on-write heap of the master) split between
    the processes that share them; what a worker really adds."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def show(done: int, s: Sample, extra: str = "") -> None:
    print(
        f"{done:>8} messages   "
        + "   ".join(
            f"worker {p}: RSS {r / 1024:6.1f} MB (PSS {q / 1024:6.1f}, CPU {c:6.1f} s)"
            for p, (r, q, c) in s.items()
        )
        + extra,
        flush=True,
    )


def run(srv: ib.Server, wrk: ib.Wrk, url: str, args: argparse.Namespace) -> list[tuple[int, Sample, float]]:
    pids = srv.workers()
    base = ib.settled_counts(url)
    rows = [(0, sample(pids), 0.0)]
    show(0, rows[0][1])
    t0 = time.perf_counter()
    for step in range(1, args.steps + 1):
        target = args.messages * step // args.steps
        done = _handled(ib.settled_counts(url), base)
        while done < target:
            per_thread = max(1, (target - done) // args.threads)
            wrk.run(srv.port, 3600, limit=per_thread)
            after = ib.settled_counts(url)
            if after.get("failed", 0) - base.get("failed", 0):
                raise SystemExit(f"failed messages: {after}")
            done = _handled(after, base)
        if srv.workers() != pids:
            raise SystemExit(f"workers changed ({pids} -> {srv.workers()}): a worker was restarted")
        now = sample(pids)
        rows.append((done, now, time.perf_counter() - t0))
        show(done, now, f"   ({done / (time.perf_counter() - t0):.0f} msg/s so far)")
    final = ib.counts(url)
    if final.get("diary", 0) - base.get("diary", 0) != done:
        raise SystemExit(
            f"{done} handled messages but {final.get('diary', 0) - base.get('diary', 0)} diary rows"
        )
    return rows


def _handled(c: dict[str, int], base: dict[str, int]) -> int:
    return c.get("handled", 0) - base.get("handled", 0)


def report(rows: list[tuple[int, Sample, float]]) -> None:
    """RSS per worker and step; 'not growing' is judged per worker from the first sample after it had taken
    a real share of the traffic (gunicorn hands whole keep-alive connections to one worker, so a worker may sit
    idle for a while) to the end: a one-off warm-up is not growth."""
    pids = list(rows[0][1])
    total_cpu = sum(rows[-1][1][p][2] - rows[0][1][p][2] for p in pids) or 1.0
    print()
    print("| messages | " + " | ".join(f"worker {i + 1} RSS (PSS)" for i in range(len(pids))) + " |")
    print("|---|" + "---|" * len(pids))
    for done, s, _ in rows:
        print(
            f"| {done:,} | "
            + " | ".join(f"{s[p][0] / 1024:.1f} MB ({s[p][1] / 1024:.1f})" for p in pids)
            + " |"
        )
    peak = max(s[p][0] for _, s, _ in rows for p in pids) / 1024
    growth = 0.0
    for p in pids:
        busy = [s for _, s, _ in rows if s[p][2] - rows[0][1][p][2] > 0.1 * total_cpu / len(pids)]
        share = (rows[-1][1][p][2] - rows[0][1][p][2]) / total_cpu
        if len(busy) >= 2:
            g = (busy[-1][p][0] - busy[0][p][0]) / 1024
            growth = max(growth, g)
            print(
                f"worker {p}: {share:.0%} of the workers' CPU; RSS {busy[0][p][0] / 1024:.1f} -> "
                f"{busy[-1][p][0] / 1024:.1f} MB from its first busy sample to the end ({g:+.1f} MB)"
            )
        else:
            print(f"worker {p}: {share:.0%} of the workers' CPU; busy in fewer than 2 samples")
    met = peak < GOAL_MB and growth < GROWTH_MB
    print(
        f"peak worker RSS {peak:.1f} MB (goal < {GOAL_MB} MB); largest growth once busy {growth:+.1f} MB "
        f"(goal < {GROWTH_MB} MB): {'met' if met else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
