"""`lianxin serve --workers N`'s gunicorn worker (bot/workers.py): kept-alive connections opened together are
shared out between the workers instead of all going to the one that wakes first (issue 27), and a connection
never waits for a sibling that cannot take it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import serve, workers
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[int, list[int]]]:
    """gunicorn serving tests/support/pid_app.py with `lianxin serve`'s worker class: (port, worker pids)."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(gunicorn),
                "-w",
                "2",
                "-k",
                serve.WORKER_CLASS,
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{port}",
                "--chdir",
                str(ROOT),
                "tests.support.pid_app:app",
            ],  # fmt: skip
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30  # real time: waiting for another process
        pids: set[int] = set()
        while len(pids) < 2 and time.monotonic() < deadline:  # real time
            try:
                pids.update(Counter(_serve_together(port, 4)))
            except OSError:
                time.sleep(0.1)  # real time
        assert len(pids) == 2, log.read_text()
        yield port, sorted(pids)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def _serve_together(port: int, n: int) -> list[int]:
    """Open ``n`` connections at once, then ask one request on each: the pid that answered each."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
    try:
        for s in socks:
            s.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        return [_pid_answered(s) for s in socks]
    finally:
        for s in socks:
            s.close()


def _pid_answered(sock: socket.socket) -> int:
    data = b""
    while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    return int(data.split(b"\r\n\r\n", 1)[1])


def test_kept_alive_connections_opened_together_are_shared_between_the_workers(
    two_workers: tuple[int, list[int]],
) -> None:
    port, _ = two_workers
    for _ in range(5):  # plain gthread gave one worker all 20 in about half of such rounds
        time.sleep(0.2)  # real time: the last round's connections closed on both sides
        by_worker = Counter(_serve_together(port, 20))
        assert len(by_worker) == 2 and min(by_worker.values()) >= 8, by_worker


def test_a_connection_does_not_wait_for_a_worker_that_cannot_take_it(
    two_workers: tuple[int, list[int]],
) -> None:
    port, pids = two_workers
    os.kill(pids[0], signal.SIGSTOP)  # alive, holding no connection, never accepting
    try:
        started = time.monotonic()  # real time
        answered = Counter(_serve_together(port, 10))
        took = time.monotonic() - started  # real time
    finally:
        os.kill(pids[0], signal.SIGCONT)
    assert answered == {pids[1]: 10}
    assert took < 5  # each waits at most 5 ms for the stopped sibling, not for the 10 s socket timeout


def test_a_slot_of_a_worker_that_exited_is_given_to_the_next() -> None:
    slot = workers._promise_slot()
    try:
        workers._write(slot, 2**22 + 1, 7)  # a pid above Linux's default pid_max: no such process
        assert workers._promise_slot() == slot
    finally:
        workers._write(slot, 0, 0)
