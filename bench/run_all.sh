#!/bin/sh
# Every benchmark of bench/, one after the other, each printing its figures and the command that reproduces it.
#
#   sh bench/run_all.sh                      # SQLite and PostgreSQL (the URL below, or $LIANXIN_BENCH_PG_URL)
#   LIANXIN_BENCH_PG_URL= sh bench/run_all.sh   # SQLite only where a benchmark allows it
#
# Needs: the project's .venv (pip install -e '.[test]'), wrk for inbound/memory (apt-get install -y wrk),
# and for PostgreSQL a server where the URL's user may create databases (each bench makes its own).
# Takes about 30–45 minutes on 2 cores (evening.py runs about 6 minutes per database) (report.py builds 1,000,000 diary rows per database; memory.py
# sends 100,000 messages). Results and goals: bench/RESULTS.md.
set -eu
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG="${LIANXIN_BENCH_PG_URL-postgresql://lianxin:lianxin@127.0.0.1:5432/postgres}"

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; $(free -h | awk '/^Mem:/ {print $2}') memory; load $(cut -d' ' -f1-3 /proc/loadavg)"
git log -1 --format='== code: %h %s' 2>/dev/null || true

run() { echo; echo "== $*"; "$@"; }

if [ -n "$PG" ]; then
    run $PY bench/import.py --pg "$PG"                       # 100,000 households (goal < 60 s)
    run $PY bench/broadcast.py --pg "$PG"                    # card to 3,000 cadres (enqueue < 1 s), delivery
    run $PY bench/report.py --pg "$PG"                       # county monthly report (goal < 2 s)
    run $PY bench/ledger.py --pg "$PG"                       # 五个一 ledger (goal < 30 s)
    run $PY bench/chat_latency.py --pg "$PG"                 # one reply per kind of message
    run $PY bench/console_pages.py --pg "$PG"                # console pages
    run $PY bench/inbound.py --pg "$PG" --targets echo,sqlite,pg,lean   # /wechat vs werobot echo (≥ 25 %, p99 < 50 ms)
    run $PY bench/layers.py --pg "$PG"                       # CPU per diary in-process: echo, lean path, lianxin
    run $PY bench/evening.py --pg "$PG"                      # 3,000 reminders at 21:00 beside 50 diaries/s
else
    run $PY bench/import.py
    run $PY bench/broadcast.py
    run $PY bench/report.py --no-pg
    run $PY bench/ledger.py
    run $PY bench/chat_latency.py
    run $PY bench/console_pages.py
    run $PY bench/inbound.py --targets echo,sqlite,lean
    run $PY bench/evening.py --only sqlite
fi
run $PY bench/layers.py                                       # CPU per diary in-process, SQLite
run $PY bench/memory.py                                       # worker RSS over 100,000 messages (< 150 MB)
run $PY bench/voice.py                                        # AMR -> MP3 per voice message (ffmpeg)
