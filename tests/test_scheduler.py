"""The scheduler: jobs stored in the project database with deterministic ids, one active scheduler per
database (a lease), a missed run made up within the misfire grace, `lianxin jobs list/run`."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

from reminders import jobs, lease, scheduler
from reminders.scheduler import JOBSTORE_TABLE, SchedulerRunner, list_jobs
from storage.timestamps import utcnow


@pytest.fixture
def fresh_store(lx: Any):
    """The job store table is APScheduler's own (not in our models): drop it afterwards so the
    models-vs-migrations check of other tests sees only our tables."""
    yield lx
    with lx.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {JOBSTORE_TABLE}"))


def _stored(lx: Any) -> dict[str, Any]:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    if not inspect(lx.engine).has_table(JOBSTORE_TABLE):
        return {}
    return {j.id: j for j in SQLAlchemyJobStore(engine=lx.engine, tablename=JOBSTORE_TABLE).get_all_jobs()}


def _runner(lx: Any, holder: str) -> SchedulerRunner:
    return SchedulerRunner(lx, ttl_seconds=3, renew_seconds=0.1, holder=holder)


def test_lease_one_holder_at_a_time(lx: Any) -> None:
    now = utcnow()
    assert lease.acquire(lx.engine, "x", "a", ttl=timedelta(seconds=30), now=now)
    assert not lease.acquire(lx.engine, "x", "b", ttl=timedelta(seconds=30), now=now)
    assert lease.acquire(lx.engine, "x", "a", ttl=timedelta(seconds=30), now=now)  # renewal
    assert lease.acquire(lx.engine, "x", "b", ttl=timedelta(seconds=30), now=now + timedelta(seconds=31))
    lease.release(lx.engine, "x", "a")  # not the holder any more: no effect
    assert lease.holder_of(lx.engine, "x", now=now + timedelta(seconds=32))[0] == "b"


def test_one_active_scheduler_jobs_stored_once(fresh_store: Any, make_lx: Any) -> None:
    lx = fresh_store
    other = make_lx()
    first = _runner(lx, "first").start()
    assert first.became_leader.wait(10)
    second = _runner(other, "second").start()
    try:
        stored = _stored(lx)
        assert sorted(stored) == sorted(jobs.JOBS)
        grace = lx.config.scheduler.misfire_grace_seconds
        assert all(j.misfire_grace_time == grace and j.coalesce for j in stored.values())
        assert stored["diary_reminders"].func_ref == "reminders.scheduler:run_job"
        assert stored["diary_reminders"].args == ("diary_reminders",)
        assert not second.became_leader.wait(0.5) and not second.is_leader
        assert scheduler.lease_holder(lx)[0] == "first"
        before = {k: j.next_run_time for k, j in _stored(lx).items()}
        first.shutdown()  # gives the lease up: the waiting one takes over
        assert second.became_leader.wait(10)
        after = _stored(lx)
        assert sorted(after) == sorted(jobs.JOBS)  # replaced, never duplicated
        # Unchanged triggers keep their next run time (a run missed meanwhile is still made up).
        assert after["monthly_circular"].next_run_time == before["monthly_circular"]
    finally:
        second.shutdown()
        first.shutdown()


def test_missed_run_is_made_up_within_the_grace(fresh_store: Any, monkeypatch: Any) -> None:
    lx = fresh_store
    ran = threading.Event()
    seen: list[str] = []

    def fake_diary(lx_: Any, now: Any) -> jobs.JobResult:
        seen.append("diary")
        ran.set()
        return jobs.JobResult("diary_reminders")

    monkeypatch.setitem(jobs.JOBS, "diary_reminders", fake_diary)
    for name in list(jobs.JOBS):
        if name != "diary_reminders":
            monkeypatch.setitem(jobs.JOBS, name, lambda lx_, now, n=name: jobs.JobResult(n))
    first = _runner(lx, "first").start()
    assert first.became_leader.wait(10)
    first.shutdown()
    # The process was down when the diary reminders were due 10 minutes ago.
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(engine=lx.engine, tablename=JOBSTORE_TABLE)
    job = store.lookup_job("diary_reminders")
    job.next_run_time = utcnow().astimezone(lx.config.tz) - timedelta(minutes=10)
    store.update_job(job)
    again = _runner(lx, "again").start()
    try:
        assert again.became_leader.wait(10)
        assert ran.wait(10), "a run missed by 10 minutes (grace 1 h) must still happen"
        assert seen == ["diary"]
    finally:
        again.shutdown()


def test_jobs_list_and_run_cli(fresh_store: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from bot.cli import main

    lx = fresh_store
    rows = list_jobs(lx)
    assert [r["name"] for r in rows] == list(jobs.JOBS)
    assert all(r["next_run"] is not None and not r["stored"] for r in rows)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "{lx.config.database_url}"\n', encoding="utf-8")
    monkeypatch.setenv("LIANXIN_CONFIG", str(cfg))
    runner = CliRunner()
    r = runner.invoke(main, ["jobs", "list"])
    assert r.exit_code == 0 and all(name in r.output for name in jobs.JOBS)
    r = runner.invoke(main, ["jobs", "run", "month_end_reminders", "--now", "2026-11-29T10:00"])
    assert r.exit_code == 0 and r.output.startswith("月底提醒：发出 0 条")
    r = runner.invoke(main, ["jobs", "run", "nope"])
    assert r.exit_code != 0 and "未知任务" in r.output
    r = runner.invoke(main, ["jobs", "run", "diary_reminders", "--now", "yesterday"])
    assert r.exit_code != 0
