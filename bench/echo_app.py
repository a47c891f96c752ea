"""The baseline of bench/inbound.py: a bare werobot echo app (sessions off), as werobot's docs show it.

    .venv/bin/gunicorn -w 2 -k gthread --threads 4 --chdir bench echo_app:app

Served by gunicorn the same way as ``lianxin serve --workers 2`` (gthread workers, 4 threads each). The token
comes from $BENCH_TOKEN (default "bench-token"). werobot checks the URL signature and answers a text message
with a TextReply of the same content; nothing is stored.
"""

from __future__ import annotations

import os

import werobot

robot = werobot.WeRoBot(token=os.environ.get("BENCH_TOKEN", "bench-token"), enable_session=False)


@robot.text
def echo(message: werobot.messages.messages.TextMessage) -> str:
    return message.content


app = robot.wsgi
