"""Benchmark: signed messages POSTed to /wechat, lianxin against a bare werobot echo app, per kind of message.

    .venv/bin/python bench/inbound.py --pg postgresql://lianxin:lianxin@127.0.0.1:5432/postgres
    .venv/bin/python bench/inbound.py --pg … --kinds diary,request,duplicate,任务,本月
    (or LIANXIN_BENCH_PG_URL=...; without either only SQLite and the echo baseline are measured)

Targets, each served by gunicorn with 2 workers of `lianxin serve`'s class (bot/workers.py; 4 threads each) and
driven by wrk (Debian's `apt-get install wrk`) at 20 connections for --duration seconds after a short warm-up:
  echo     bench/echo_app.py — werobot.WeRoBot(enable_session=False), a text handler that echoes; nothing stored
           (--echo-worker-class gthread: the plain gthread workers instead)
  sqlite   `lianxin serve --workers 2 --no-scheduler` on a SQLite file (WAL)
  pg       the same on PostgreSQL (database lianxin_bench_inbound on the --pg server, created for the run and
           dropped afterwards unless --keep)
  lean     bench/lean_app.py on each of those databases, diaries only: the diary's statements without the
           product's layers (issue 27), e.g. --targets echo,sqlite,pg,lean
The echo baseline is measured first and again last; lianxin's ratio is to the mean of the two, so the
comparison is made in the same run on this shared machine.

Each lianxin database is seeded with the link list of bench/import.py (default 100,000 households, 3,000
cadres) and one bound WeChat account per cadre. wrk's Lua script (written next to the databases) signs
nothing itself: the signature covers only the query (token, timestamp, nonce), which is fixed for a run and
inside the default 300 s timestamp tolerance; every request body is a new text message with a unique MsgId
from the next cadre in turn, with WeChat's CreateTime. Plain text from a bound cadre is a diary entry.

Kinds (--kinds, default diary): ``diary`` plain text from a bound cadre (a diary entry); ``request`` plain text
from a bound villager (one per household of the first cadres' links: a villager request and its outbox push to
the cadre); ``duplicate`` WeChat's retry: 100 cadres each resend one fixed MsgId, stored by the warm-up, so
every measured message is answered from the stored reply; ``任务`` and ``本月``, the cadre commands.

Checked after every lianxin run: every 2xx answer is a stored diary entry — the new DiaryEntry rows number
the 2xx answers plus at most the requests still in flight when wrk stopped (at most one per connection),
every new InboundMessage is `handled`, none `failed`, no non-2xx answers, no socket errors (for the other
kinds: new requests or handled messages likewise; duplicates: no new message stored but the ≤ 100 originals).
Goals (issue 16): lianxin on SQLite ≥ 25% of the echo baseline's messages/s, on PostgreSQL ≥ 20%, p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import serve as _serve  # noqa: E402
from bot.wechat.inbound import signed_query  # noqa: E402
from storage.db import make_engine, make_sessionmaker, normalize_url, session_scope  # noqa: E402
from storage.models import Cadre, DiaryEntry, Household, InboundMessage, VillagerRequest, WechatIdentity  # noqa: E402
from storage.timestamps import utcnow  # noqa: E402

TOKEN = "bench-token"
# The gunicorn worker class `lianxin serve` uses (an older tree, measured as "before", has plain gthread).
SERVE_WORKER_CLASS = getattr(_serve, "WORKER_CLASS", "gthread")
OPENID_PREFIX = "obench"  # + 6 digits: the cadre's index
VILLAGER_PREFIX = "vbench"  # + 6 digits: a villager bound to a household
N_DUPLICATES = 100  # duplicate kind: this many cadres resend one fixed MsgId each
KINDS = ("diary", "request", "duplicate", "任务", "本月")
PG_DB = "lianxin_bench_inbound"
VENV = ROOT / ".venv" / "bin"

LUA = r"""
-- bench/inbound.py: a unique MsgId per request, the next cadre in turn, WeChat's CreateTime.
-- args: msgid_base openid_prefix n_openids limit_per_thread(0 = run for -d) mode queries_file n_threads
-- Each request carries its own signed query (a line of queries_file): lianxin refuses a signed query reused for
-- another message (replay protection, issue 22), as WeChat never reuses one.
-- mode: diary (rotating texts) | text:WORD (that text) | dup (a fixed MsgId per openid: WeChat's retry)
ok = 0
bad = 0
local counter = 0
local base, prefix, n_ids, limit, mode, word, n_threads
local queries = {}
local threads = {}
local texts = {
  "今天走访了农户，了解春耕备耕情况，帮助联系农资。",
  "入户宣传医保缴费政策，讲解报销比例，群众反映良好。",
  "调解两户邻里宅基地纠纷，双方达成一致意见。",
  "帮助独居老人代办社保认证，检查用电安全。",
  "指导种植户做好病虫害防治，记录产业发展需求。",
}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  base = tonumber(args[1])
  prefix = args[2]
  n_ids = tonumber(args[3])
  limit = tonumber(args[4] or "0")
  mode = args[5] or "diary"
  for line in io.lines(args[6]) do queries[#queries + 1] = line end
  n_threads = tonumber(args[7])
  if string.sub(mode, 1, 5) == "text:" then word = string.sub(mode, 6) end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/xml"
end

function request()
  counter = counter + 1
  local msgid = string.format("%.0f", base + tid * 1000000000 + counter)
  local idx = (counter * 7 + tid * 13) % n_ids
  local openid = prefix .. string.format("%06d", idx)
  local content = word or texts[counter % #texts + 1]
  if mode == "dup" then msgid = string.format("%.0f", 424242000000 + idx) end
  local body = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[" .. openid ..
    "]]></FromUserName><CreateTime>" .. os.time() .. "</CreateTime><MsgType><![CDATA[text]]></MsgType>" ..
    "<Content><![CDATA[" .. content .. "]]></Content><MsgId>" .. msgid .. "</MsgId></xml>"
  local path = "/wechat?" .. queries[((counter - 1) * n_threads + tid) % #queries + 1]
  return wrk.format(nil, path, nil, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
  if limit > 0 and ok == limit then
    io.write("LIMIT\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local tok, tbad = 0, 0
  for _, t in ipairs(threads) do
    tok = tok + t:get("ok")
    tbad = tbad + t:get("bad")
  end
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "duration_us": %d, "ok": %d, "bad": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n', summary.requests, summary.duration, tok, tbad, e.connect, e.read,
    e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


# ------------------------------------------------------------------------------------------ helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}); log:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server not answering {url}; log:\n{log.read_text()[-3000:]}")


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return sorted(out)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(srv: Server, run: Any) -> dict[str, Any]:
    """``run()`` with the CPU seconds each worker spent on it (gunicorn gives a keep-alive connection to one
    worker for its life, so the split between workers is worth seeing)."""
    pids = srv.workers()
    before = {p: cpu_seconds(p) for p in pids}
    r: dict[str, Any] = run()
    r["worker_cpu"] = [round(cpu_seconds(p) - before[p], 1) for p in pids]
    return r


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_bench_app(work: Path, app: str, env: dict[str, str], workers: int, worker_class: str) -> Server:
    """A WSGI app of bench/ (``module:callable``) under gunicorn as `lianxin serve` runs: ``workers`` ×
    4 threads, once it answers WeChat's signed URL check on /wechat."""
    port = free_port()
    log = work / f"{app.partition(':')[0]}-{port}.log"
    proc = subprocess.Popen(
        [str(VENV / "gunicorn"), "-w", str(workers), "-k", worker_class, "--threads", "4", "--timeout", "30",
         "-b", f"127.0.0.1:{port}", "--pythonpath", str(ROOT), "--chdir", str(ROOT / "bench"), app],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
    )  # fmt: skip
    q = signed_query(TOKEN, int(time.time()))
    wait_http(f"http://127.0.0.1:{port}/wechat?{urllib.parse.urlencode({**q, 'echostr': 'x'})}", proc, log)
    _wait_workers(proc.pid, workers)
    return Server(proc, port, log)


def start_echo(work: Path, workers: int, worker_class: str) -> Server:
    return start_bench_app(work, "echo_app:app", {"BENCH_TOKEN": TOKEN}, workers, worker_class)


def start_lean(work: Path, url: str, workers: int, worker_class: str) -> Server:
    """bench/lean_app.py (issue 27's lean path) on a seeded database."""
    return start_bench_app(
        work, "lean_app:app", {"LEAN_TOKEN": TOKEN, "LEAN_DB_URL": url}, workers, worker_class
    )


def write_config(work: Path, name: str, url: str) -> Path:
    cfg = work / f"{name}.toml"
    cfg.write_text(
        f'[database]\nurl = "{url}"\n\n[wechat]\ntoken = "{TOKEN}"\n\n[scheduler]\nenabled = false\n\n'
        '[console]\nsecret_key = "bench-inbound-session-key-0123456789"\n',  # several workers share it
        encoding="utf-8",
    )
    return cfg


def start_lianxin(work: Path, name: str, cfg: Path, workers: int) -> Server:
    port = free_port()
    log = work / f"{name}.log"
    env = {k: v for k, v in os.environ.items() if k not in ("LIANXIN_DATABASE_URL", "LIANXIN_CONFIG")}
    proc = subprocess.Popen(
        [
            str(VENV / "lianxin"),
            "serve",
            "--config",
            str(cfg),
            "--workers",
            str(workers),
            "--port",
            str(port),
            "--no-scheduler",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=work,
        env=env,
    )
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, log)
    _wait_workers(proc.pid, workers)
    return Server(proc, port, log)


def _wait_workers(pid: int, n: int) -> None:
    deadline = time.monotonic() + 30
    while len(children(pid)) < n and time.monotonic() < deadline:
        time.sleep(0.1)


# ------------------------------------------------------------------------------------------- database


def load_import_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def prepare_db(url: str, work: Path, households: int, cadres: int) -> int:
    """Schema, the link list of bench/import.py, one bound WeChat account per cadre and as many villagers'
    accounts (one per household, the households in id order). Returns the number of cadres."""
    from storage.importer import import_file
    from storage.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, clock=utcnow)  # real time: a benchmark seeds its rows now
    links = work / "links.csv"
    if not links.exists():
        load_import_bench().generate(links, households, cadres)
    with session_scope(sessions) as s:
        plan = import_file(s, links, actor="bench", township="示范镇")
        if not plan.ok:
            raise SystemExit(f"import refused: {plan.problems[:5]}")
    with session_scope(sessions) as s:
        ids = s.scalars(select(Cadre.id).order_by(Cadre.id)).all()
        now = utcnow()
        s.execute(
            insert(WechatIdentity),
            [
                {
                    "openid": f"{OPENID_PREFIX}{i:06d}",
                    "kind": "cadre",
                    "cadre_id": cid,
                    "bound_at": now,
                    "first_seen_at": now,
                    "window_sent": 0,
                    "subscribed": True,
                    "unreachable": False,
                }
                for i, cid in enumerate(ids)
            ],
        )
        homes = s.scalars(select(Household.id).order_by(Household.id).limit(len(ids))).all()
        s.execute(
            insert(WechatIdentity),
            [
                {
                    "openid": f"{VILLAGER_PREFIX}{i:06d}",
                    "kind": "villager",
                    "household_id": hid,
                    "bound_at": now,
                    "first_seen_at": now,
                    "window_sent": 0,
                    "subscribed": True,
                    "unreachable": False,
                }
                for i, hid in enumerate(homes)
            ],
        )
    engine.dispose()
    return len(ids)


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            out = {
                "diary": conn.scalar(select(func.count()).select_from(DiaryEntry)) or 0,
                "requests": conn.scalar(select(func.count()).select_from(VillagerRequest)) or 0,
            }
            for status, n in conn.execute(
                select(InboundMessage.status, func.count()).group_by(InboundMessage.status)
            ):
                out[status] = n
            return out
    finally:
        engine.dispose()


def settled_counts(url: str) -> dict[str, int]:
    """Counts once the requests in flight when wrk stopped have been handled (two equal readings)."""
    last = counts(url)
    for _ in range(50):
        time.sleep(0.3)
        now = counts(url)
        if now == last:
            return now
        last = now
    return last


def drop_pg(admin: Any) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
    admin.dispose()


def recreate_pg(server_url: str) -> tuple[str, Any]:
    server = make_url(normalize_url(server_url))
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    return server.set(database=PG_DB).render_as_string(hide_password=False), admin


# ------------------------------------------------------------------------------------------------ wrk


class Wrk:
    def __init__(self, work: Path, n_openids: int, connections: int, threads: int) -> None:
        self.script = work / "inbound.lua"
        self.script.write_text(LUA, encoding="utf-8")
        self.n_openids = n_openids
        self.connections = connections
        self.threads = threads
        self.runs = 0

    def run(self, port: int, seconds: int, limit: int = 0, kind: str = "diary") -> dict[str, Any]:
        """One wrk run; with ``limit`` each wrk thread stops after that many 2xx answers."""
        self.runs += 1
        queries = self.script.with_name("queries.txt")
        now = int(time.time())  # real time: WeChat's timestamp, inside lianxin's 300 s tolerance
        queries.write_text(
            "\n".join(
                urllib.parse.urlencode(signed_query(TOKEN, now, f"r{self.runs}n{i}"))
                for i in range(max(5000, int(seconds * 4000)))
            ),
            encoding="ascii",
        )
        url = f"http://127.0.0.1:{port}/wechat"
        base = self.runs * 10_000_000_000
        cmd = [
            "wrk",
            "-t",
            str(self.threads),
            "-c",
            str(self.connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(self.script),
            url,
            "--",
            *self.kind_args(base, kind, limit),
            str(queries),
            str(self.threads),
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stderr is not None
        lines = []
        if (
            limit
        ):  # wrk sleeps for -d whatever its threads do: interrupt it once every thread reached the limit
            stopped = 0
            for line in proc.stdout:
                lines.append(line)
                stopped += line.startswith("LIMIT")
                if stopped == self.threads:
                    proc.send_signal(signal.SIGINT)
                    break
        lines += proc.stdout.readlines()
        err = proc.stderr.read()
        if proc.wait() != 0:
            raise SystemExit(f"wrk failed ({proc.returncode}): {err}{''.join(lines)}")
        out = "".join(lines)
        for line in out.splitlines():
            if line.startswith("BENCH "):
                r: dict[str, Any] = json.loads(line[6:])
                r["seconds"] = r["duration_us"] / 1e6
                r["rate"] = r["ok"] / r["seconds"] if r["seconds"] else 0.0
                return r
        raise SystemExit(f"wrk printed no figures:\n{out}")

    def kind_args(self, base: int, kind: str, limit: int) -> list[str]:
        prefix, n, mode = OPENID_PREFIX, self.n_openids, "diary"
        if kind == "request":
            prefix = VILLAGER_PREFIX
        elif kind == "duplicate":
            n, mode = min(n, N_DUPLICATES), "dup"
        elif kind != "diary":
            mode = f"text:{kind}"
        return [str(base), prefix, str(n), str(limit), mode]


def fmt(r: dict[str, Any]) -> str:
    return (
        f"{r['rate']:8.0f} msg/s   p50 {r['p50_us'] / 1000:6.1f} ms   p99 {r['p99_us'] / 1000:6.1f} ms   "
        f"max {r['max_us'] / 1000:6.1f} ms   ({r['ok']} × 2xx in {r['seconds']:.1f} s, {r['bad']} other; "
        f"worker CPU s {'+'.join(str(c) for c in r.get('worker_cpu', []))})"
    )


def measure_echo(work: Path, wrk: Wrk, args: argparse.Namespace) -> dict[str, Any]:
    srv = start_echo(work, args.workers, args.echo_worker_class)
    try:
        wrk.run(srv.port, args.warmup)
        r = measured(srv, lambda: wrk.run(srv.port, args.duration))
    finally:
        srv.stop()
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["bad"]
    r["check"] = "ok" if errors == 0 else f"{errors} errors"
    return r


def measure_lianxin(
    work: Path,
    wrk: Wrk,
    name: str,
    url: str,
    args: argparse.Namespace,
    kind: str = "diary",
    lean: bool = False,
) -> dict[str, Any]:
    if lean:
        srv = start_lean(work, url, args.workers, args.echo_worker_class)
    else:
        srv = start_lianxin(work, name, write_config(work, name, url), args.workers)
    try:
        if kind == "duplicate":  # every cadre's one message stored before the measured retries, however slow
            wrk.run(srv.port, 120, limit=2 * N_DUPLICATES, kind=kind)
        else:
            wrk.run(srv.port, args.warmup, kind=kind)
        before = settled_counts(url)
        r = measured(srv, lambda: wrk.run(srv.port, args.duration, kind=kind))
        after = settled_counts(url)
    finally:
        srv.stop()
    r["check"] = verify(before, after, r, args.connections, kind)
    return r


def verify(
    before: dict[str, int], after: dict[str, int], r: dict[str, Any], connections: int, kind: str = "diary"
) -> str:
    new = {
        k: after.get(k, 0) - before.get(k, 0) for k in ("diary", "requests", "handled", "failed", "received")
    }
    problems = []
    effect = {"diary": "diary", "request": "requests"}.get(kind, "handled")
    if kind == "duplicate":  # the warm-up stored each cadre's one message; every measured one is its retry
        if new["handled"] or new["diary"]:
            problems.append(f"{new['handled']} messages / {new['diary']} diary rows stored by retries")
    elif not r["ok"] <= new[effect] <= r["ok"] + connections:
        problems.append(f"{new[effect]} new {effect} for {r['ok']} 2xx answers")
    if kind != "duplicate" and new["handled"] != new[effect]:
        problems.append(f"{new['handled']} handled messages but {new[effect]} new {effect}")
    if new["failed"] or new["received"]:
        problems.append(f"{new['failed']} failed, {new['received']} unfinished messages")
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["bad"]
    if errors:
        problems.append(f"{r['bad']} non-2xx, {errors - r['bad']} socket errors/timeouts")
    r["stored"] = new[effect]
    if problems:
        return "FAILED: " + "; ".join(problems)
    if kind == "duplicate":
        return f"ok: {r['ok']} retries answered from the stored reply, nothing stored twice"
    return f"ok: {new[effect]} {effect} stored for {r['ok']} 2xx answers (+{new[effect] - r['ok']} in flight)"


# ----------------------------------------------------------------------------------------------- main


def common_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--pg", default=os.environ.get("LIANXIN_BENCH_PG_URL"), help="PostgreSQL server URL")
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--cadres", type=int, default=3_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=20)
    ap.add_argument(
        "--threads", type=int, default=1, help="wrk threads (it shares the 2 cores with the server)"
    )
    ap.add_argument("--keep", action="store_true", help=f"keep the PostgreSQL database {PG_DB} afterwards")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_args(ap)
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument(
        "--targets",
        default="echo,sqlite,pg",
        help="of echo,sqlite,pg,lean (lean: bench/lean_app.py's diaries)",
    )
    ap.add_argument("--kinds", default="diary", help=f"comma-separated, of: {','.join(KINDS)}")
    ap.add_argument(
        "--echo-worker-class",
        default=SERVE_WORKER_CLASS,
        help=f"gunicorn -k for the echo baseline (default: lianxin serve's, {SERVE_WORKER_CLASS})",
    )
    args = ap.parse_args()
    targets = args.targets.split(",")
    kinds = args.kinds.split(",")
    if unknown := set(kinds) - set(KINDS):
        raise SystemExit(f"unknown kinds: {', '.join(sorted(unknown))}")
    if not args.pg and "pg" in targets:
        targets.remove("pg")
    print(f"command: .venv/bin/python bench/{Path(sys.argv[0]).name} {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"machine: {os.cpu_count()} CPUs; wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s; "
        f"gunicorn {args.workers} workers × 4 threads (echo: -k {args.echo_worker_class}; lianxin serve: "
        f"{SERVE_WORKER_CLASS}); {args.cadres} bound cadres, "
        f"{args.households} households",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="lianxin-inbound-") as tmp:
        work = Path(tmp)
        urls: dict[str, str] = {}
        admin = None
        if "sqlite" in targets:
            urls["sqlite"] = f"sqlite:///{work / 'inbound.db'}"
        if "pg" in targets:
            urls["pg"], admin = recreate_pg(args.pg)
        try:
            n = 0
            for name, url in urls.items():
                t0 = time.perf_counter()
                n = prepare_db(url, work, args.households, args.cadres)
                print(f"seeded {name}: {n} bound cadres in {time.perf_counter() - t0:.1f} s", flush=True)
            wrk = Wrk(work, n or args.cadres, args.connections, args.threads)
            order = ["echo"] if "echo" in targets else []
            order += [f"{t}:{k}" for k in kinds for t in ("sqlite", "pg") if t in targets]
            if "lean" in targets:  # issue 27's lean path, diaries only, beside lianxin's
                order += [f"lean-{db}:diary" for db in urls]
            if "echo" in targets and len(order) > 1:
                order.append("echo#2")
            for name in order:
                if name.startswith("echo"):
                    r = measure_echo(work, wrk, args)
                else:
                    db, kind = name.split(":")
                    lean = db.startswith("lean-")
                    db = db.removeprefix("lean-")
                    r = measure_lianxin(work, wrk, db, urls[db], args, kind, lean=lean)
                results[name] = r
                print(f"{name:12s} {fmt(r)}  [{r['check']}]  load {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            if admin is not None:
                admin.dispose() if args.keep else drop_pg(admin)
    report(results)


def report(results: dict[str, dict[str, Any]]) -> None:
    echoes = [r["rate"] for k, r in results.items() if k.startswith("echo")]
    base = sum(echoes) / len(echoes) if echoes else 0.0
    print()
    print("| target | messages/s | p50 | p99 | ratio to echo | every message stored |")
    print("|---|---|---|---|---|---|")
    labels = {
        "echo": "werobot echo",
        "echo#2": "werobot echo (again)",
        "sqlite": "lianxin, SQLite",
        "pg": "lianxin, PostgreSQL",
        "lean-sqlite": "lean path (bench/lean_app.py), SQLite",
        "lean-pg": "lean path (bench/lean_app.py), PostgreSQL",
    }
    for name, r in results.items():
        ratio = f"{r['rate'] / base:.1%}" if base and not name.startswith("echo") else "—"
        db, _, kind = name.partition(":")
        label = labels[db] + (f", {kind}" if kind else "")
        print(
            f"| {label} | {r['rate']:.0f} | {r['p50_us'] / 1000:.1f} ms | {r['p99_us'] / 1000:.1f} ms | {ratio} "
            f"| {r['check'] if not name.startswith('echo') else 'n/a (stores nothing)'} |"
        )
    # Issue 16's goals: SQLite ≥ 0.25 of echo, PostgreSQL ≥ 0.2, p99 < 50 ms at 20 connections, all stored.
    for name, r in results.items():
        if base and not name.startswith("echo"):
            share = 0.25 if "sqlite" in name else 0.2
            met = r["rate"] >= share * base and r["p99_us"] < 50_000 and r["check"].startswith("ok")
            print(
                f"goal ({name}: ≥{share:.0%} of echo {base:.0f} msg/s, p99 < 50 ms, all stored): "
                f"{'met' if met else 'NOT met'}"
            )


if __name__ == "__main__":
    main()
