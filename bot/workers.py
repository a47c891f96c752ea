"""gunicorn's gthread worker, with connections shared out between the workers (issue 27).

All of gunicorn's workers wait on the one listening socket. With gthread, the worker that runs first accepts
every connection that is waiting: when a client opens its kept-alive connections together (nginx with an
upstream ``keepalive`` pool, a load balancer, wrk), one worker gets all of them and serves them for as long as
they live, while the other idles (measured: CPU 10.3 s + 0.0 s in a 10 s run, in half the runs; bench/RESULTS.md,
issue 27). On a small machine the sibling woken by the same connection often waits for a CPU behind the client
that is still connecting, so merely stepping aside for one turn of the loop is not enough (still one-sided in
2 runs of 8). ``keepalive = 0`` spreads connections but costs one per message, and gunicorn's
``worker_connections`` cap makes gthread spin on an empty futures list once reached.

This worker instead takes the least-connections rule: each worker publishes how many connections it holds in a
small table shared by the processes (made by the master before it forks); a worker holding two or more
connections more than a live sibling lets the connection wait for that sibling, sleeping 0.5 ms at a time so the
sibling gets a CPU, and takes it itself after 5 ms (a sibling that is busy or stuck delays nobody longer). A
difference of one is let be: with a connection per message (nginx without an upstream keepalive pool) the counts
differ by one all the time, and waiting then cost throughput. Nothing is refused.
"""

from __future__ import annotations

import mmap
import os
import selectors
import struct
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

_SLOTS = 64  # workers at once (with their replacements while the old ones exit)
_SLOT = struct.Struct("ii")  # pid (0 free, -1 promised to a worker being forked), connections held
_WAIT_FOR_SIBLING = 0.005  # seconds a connection may wait for a sibling with fewer connections
_NAP = 0.0005

# Shared with every worker forked after this module is imported: gunicorn's master imports the worker class
# before it forks (Arbiter.setup), so MAP_SHARED anonymous memory made here is the same pages in all of them.
_table = mmap.mmap(-1, _SLOTS * _SLOT.size)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(slot: int) -> tuple[int, int]:
    return _SLOT.unpack_from(_table, slot * _SLOT.size)


def _write(slot: int, pid: int, conns: int) -> None:
    _SLOT.pack_into(_table, slot * _SLOT.size, pid, conns)


def _promise_slot() -> int:
    """In the master, before the fork (one worker at a time, so no two take the same slot): a free slot, or
    one whose worker has exited. -1 when all are in use: that worker then neither publishes nor defers."""
    for slot in range(_SLOTS):
        pid, _ = _read(slot)
        if pid == 0 or (pid > 0 and not _alive(pid)):
            _write(slot, -1, 0)
            return slot
    return -1


class TakeTurnsWorker(ThreadWorker):
    """gthread that leaves a new connection to a sibling holding fewer (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slot = _promise_slot()  # runs in the master: gunicorn makes the worker object, then forks

    def init_process(self) -> None:
        self._waiting_since = 0.0  # when the connection now waiting for a sibling was first left to it
        self._stepped_aside: list[tuple[Any, Any]] = []
        self._publish()
        super().init_process()

    def _publish(self) -> None:
        if self._slot >= 0:
            _write(self._slot, os.getpid(), self.nr_conns)

    def _fewest_elsewhere(self) -> int | None:
        """The fewest connections a live sibling holds (None without one)."""
        me = os.getpid()
        fewest = None
        for slot in range(_SLOTS):
            pid, conns = _read(slot)
            if pid > 0 and pid != me and _alive(pid):
                fewest = conns if fewest is None else min(fewest, conns)
        return fewest

    def accept(self, server: Any, listener: Any) -> None:
        fewest = self._fewest_elsewhere() if self._slot >= 0 else None
        now = time.monotonic()  # real time: how long a waiting connection has waited
        if fewest is not None and self.nr_conns > fewest + 1:
            if not self._waiting_since:
                self._waiting_since = now
            if now - self._waiting_since < _WAIT_FOR_SIBLING:
                self._step_aside(listener)
                time.sleep(_NAP)  # real time: frees this CPU for the sibling
                return
        self._waiting_since = 0.0
        super().accept(server, listener)
        self._publish()

    def finish_request(self, fs: Any) -> None:
        # Runs on the thread that served the request, when a connection is kept or closed: the count is published
        # now, not at the end of the main loop's turn (which may wait a second in select), so a sibling never
        # leaves new connections to a worker whose connections have all gone.
        super().finish_request(fs)
        self._publish()

    def _step_aside(self, listener: Any) -> None:
        with self._lock:
            key = self.poller.get_key(listener)
            self.poller.unregister(listener)
        self._stepped_aside.append((listener, key.data))

    def murder_keepalived(self) -> None:
        # Called once every turn of ThreadWorker.run's loop, after the turn's events: the listening sockets this
        # worker stepped away from are watched again before it next waits, and its count is brought up to date.
        if not self._stepped_aside:  # nothing left waiting this turn: a sibling took it, or this worker did
            self._waiting_since = 0.0
        while self._stepped_aside:
            listener, acceptor = self._stepped_aside.pop()
            with self._lock:
                self.poller.register(listener, selectors.EVENT_READ, acceptor)
        super().murder_keepalived()
        self._publish()
