"""One clock: no product module reads the wall clock directly, outside the clock's own module
(storage/timestamps.py) or a line whose comment says why real time is meant (docs/architecture.md "The clock");
every time stamp follows the injected clock the session carries.

The reads are found in the source (tests/support/wall_clock.py); each failure names file and line. The last tests
feed the checker a made-up module, so a checker that silently finds nothing fails here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from storage import audit
from storage.models import AuditLog, Cadre, OutboxMessage
from storage.outbox import enqueue
from storage.timestamps import NoClock
from tests.support import wall_clock
from tests.support.factories import Factory

ROOT = Path(__file__).resolve().parent.parent


def test_no_module_reads_the_wall_clock_without_saying_why() -> None:
    problems = wall_clock.reads(ROOT)
    assert not problems, f"direct reads of the wall clock ({len(problems)}):\n  " + "\n  ".join(
        map(str, problems)
    )


def test_the_checker_reads_every_package() -> None:
    seen = {p.relative_to(ROOT).parts[0] for pkg in wall_clock.PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    assert seen == set(wall_clock.PACKAGES)
    # the clock's own module does read it, and is the one place let off
    clock = (ROOT / wall_clock.CLOCK_MODULE).read_text(encoding="utf-8")
    assert [r.what for r in wall_clock.reads_in(clock, wall_clock.CLOCK_MODULE)] == ["datetime.datetime.now"]


BAD = """
import datetime as dt
import time
from datetime import date, datetime
from time import monotonic as mono

from storage import timestamps
from storage.timestamps import utcnow


def stamp(row):
    row.at = datetime.now(dt.UTC)
    row.day = date.today()
    row.seen = dt.datetime.utcnow()
    row.t = time.time()
    row.n = mono()
    row.local = time.localtime()
    row.x = timestamps.utcnow()
    return utcnow


CLOCK = datetime.now
"""

FINE = """
import time
from datetime import datetime, time as clock_time, timedelta

from storage.timestamps import now_of, utcnow


def ok(session, ctx, lx, when):
    a = ctx.now() + lx.now() - now_of(session)
    b = clock_time(17, 0)  # datetime.time, not the time module
    c = time.localtime(when.timestamp())  # a given moment, not the clock
    d = datetime.fromtimestamp(0) + timedelta(days=1)
    e = utcnow()  # real time: WeChat's token expires by its clock
    deadline = (
        time.monotonic()  # real time: how long we wait for another process
        + 5
    )
    time.sleep(0.1)
    return a, b, c, d, e, deadline
"""


def test_checker_reports_every_kind_of_direct_read() -> None:
    found = [(r.line, r.what) for r in wall_clock.reads_in(BAD, "storage/bad.py")]
    assert found == [
        (12, "datetime.datetime.now"),
        (13, "datetime.date.today"),
        (14, "datetime.datetime.utcnow"),
        (15, "time.time"),
        (16, "time.monotonic"),
        (17, "time.localtime"),
        (18, "storage.timestamps.utcnow"),
        (19, "storage.timestamps.utcnow"),  # handing the wall clock on is reading it
        (22, "datetime.datetime.now"),
    ]
    problem = str(wall_clock.reads_in(BAD, "storage/bad.py")[0])
    assert problem.startswith("storage/bad.py:12: reads the wall clock (datetime.datetime.now)")


def test_checker_accepts_the_injected_clock_and_explained_real_time() -> None:
    assert wall_clock.reads_in(FINE, "reminders/fine.py") == []


def test_checker_lets_off_only_the_clock_module(tmp_path: Path) -> None:
    for pkg in wall_clock.PACKAGES:
        (tmp_path / pkg).mkdir()
    (tmp_path / "storage" / "timestamps.py").write_text("from datetime import datetime\nNOW = datetime.now\n")
    (tmp_path / "handlers" / "diary.py").write_text("from datetime import date\n\nTODAY = date.today()\n")
    assert [str(r).split(":")[0:2] for r in wall_clock.reads(tmp_path)] == [["handlers/diary.py", "3"]]


# ------------------------------------------------------------------------------ the clock sessions carry


def test_every_time_stamp_follows_the_injected_clock(lx: Any, clock: Any) -> None:
    """Rows stamped by column defaults (ORM and Core), the audit log and the outbox all read the one clock."""
    at = clock.set("2031-02-03 04:05")
    with lx.session() as s:
        cadre = Factory(s).cadre()
        s.execute(
            insert(Cadre),
            [{"name": "批量", "phone": "13912345678", "post": "驻村干部", "village_id": cadre.village_id}],
        )
        audit.record(s, actor="test", action="clock.check")
        enqueue(s, openid="o-clock", kind="notice", text="t", key="clock-1")
    with lx.session() as s:
        assert {c.created_at for c in s.scalars(select(Cadre))} == {at}
        assert s.scalar(select(AuditLog.at)) == at
        row = s.scalar(select(OutboxMessage))
        assert (row.created_at, row.next_attempt_at) == (at, at)
    later = clock.advance(days=1)
    with lx.session() as s:
        s.get(Cadre, cadre.id).name = "改名"
    with lx.session() as s:
        assert s.get(Cadre, cadre.id).updated_at == later


def test_a_time_stamped_row_written_without_the_clock_is_refused(lx: Any) -> None:
    with Session(lx.engine) as s, pytest.raises(StatementError) as e:
        s.add(Cadre(name="无钟", phone="13900000002", post="驻村干部", active=True))
        s.flush()
    assert isinstance(e.value.orig, NoClock)
