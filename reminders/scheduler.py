"""The scheduler: APScheduler 3 with its job store in the project database, one active per database.

- Jobs have deterministic ids (their names), so a restart or a second process never duplicates them; a job
  whose trigger is unchanged keeps its stored next run time, so a run missed while the process was down
  still happens on start (within ``[scheduler] misfire_grace_seconds``; APScheduler's default of 1 s would
  silently skip it). ``coalesce``: several missed runs become one.
- One active scheduler per database: a ``Lease`` row named ``scheduler``, renewed every ``renew_seconds``.
  Another process (``lianxin serve`` workers, a second ``lianxin scheduler``) waits and takes over when the
  lease runs out — so each reminder is queued once, and the ReminderSent key guarantees it anyway.
- The job store table (``apscheduler_jobs``) is created by APScheduler itself, not by our migrations.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import inspect

from reminders import jobs, lease
from reminders.jobs import JOBS
from storage.config import Config

log = logging.getLogger("lianxin.scheduler")

LEASE_NAME = "scheduler"
JOBSTORE_TABLE = "apscheduler_jobs"

# The Lianxin each job runs against, set by the runner that owns the APScheduler in this process.
_current: dict[str, Any] = {}


def job_triggers(config: Config) -> dict[str, BaseTrigger]:
    """When each job runs (all times in the configured zone)."""
    tz = config.tz
    sch = config.scheduler
    hour, _, minute = sch.diary_reminder_time.partition(":")
    return {
        "publish_tasks": IntervalTrigger(minutes=1, timezone=tz),
        "deadline_reminders": CronTrigger(minute=5, timezone=tz),  # hourly
        "diary_reminders": CronTrigger(hour=int(hour), minute=int(minute or 0), timezone=tz),
        "month_end_reminders": CronTrigger(hour=10, minute=0, timezone=tz),
        "monthly_circular": CronTrigger(day=1, hour=8, minute=0, timezone=tz),
        "villager_sla": CronTrigger(minute="*/30", timezone=tz),
        "dispatch_outbox": IntervalTrigger(seconds=sch.dispatch_interval_seconds, timezone=tz),
        "duty_reminders": CronTrigger(hour=9, minute=30, timezone=tz),  # daily; sends only on reminder days
        "housekeeping": CronTrigger(minute=40, timezone=tz),  # hourly
    }


def run_job(name: str) -> None:
    """The callable stored in the job store (by reference): runs job ``name`` on this process's Lianxin."""
    lx = _current.get("lx")
    runner = _current.get("runner")
    if lx is None:
        log.error("job %s fired with no Lianxin set up in this process", name)
        return
    if runner is not None and not runner.is_leader:
        log.info("job %s skipped: this process no longer holds the scheduler lease", name)
        return
    try:
        result = jobs.run(lx, name, lx.now())
        if result.sent or name != "dispatch_outbox":
            log.info("%s", result.line())
    except Exception:
        log.exception("job %s failed", name)
        raise


class SchedulerRunner:
    """Waits for the scheduler lease, runs APScheduler while holding it, gives it up on shutdown."""

    def __init__(
        self, lx: Any, *, ttl_seconds: float = 60, renew_seconds: float = 15, holder: str | None = None
    ) -> None:
        self.lx = lx
        self.ttl = timedelta(seconds=ttl_seconds)
        self.renew_seconds = renew_seconds
        self.holder = holder or f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.scheduler: BackgroundScheduler | None = None
        self.is_leader = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.became_leader = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SchedulerRunner:
        _current["lx"] = self.lx
        _current["runner"] = self
        self._thread = threading.Thread(target=self._loop, name="lianxin-scheduler-lease", daemon=True)
        self._thread.start()
        return self

    def shutdown(self, wait: bool = False) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._stop_scheduler(wait=wait)
        if self.is_leader:
            lease.release(self.lx.engine, LEASE_NAME, self.holder)
            self.is_leader = False
        if _current.get("runner") is self:
            _current.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                held = lease.acquire(
                    self.lx.engine, LEASE_NAME, self.holder, ttl=self.ttl, now=lease.real_now()
                )
            except Exception:  # noqa: BLE001 - the database may be away for a moment; try again
                log.exception("scheduler lease check failed")
                held = False
            if held and not self.is_leader:
                log.info("scheduler lease taken by %s; starting jobs", self.holder)
                self.is_leader = True
                try:
                    self._start_scheduler()
                except Exception:
                    log.exception("could not start the scheduler")
                    self.is_leader = False
                    lease.release(self.lx.engine, LEASE_NAME, self.holder)
                else:
                    self.became_leader.set()
            elif not held and self.is_leader:
                log.warning("scheduler lease lost; stopping jobs until it can be taken again")
                self.is_leader = False
                self._stop_scheduler(wait=False)
            elif not held:
                current = lease.holder_of(self.lx.engine, LEASE_NAME, now=lease.real_now())
                log.debug("scheduler waiting; lease held by %s", current[0] if current else "nobody")
            self._stop.wait(self.renew_seconds)

    def _start_scheduler(self) -> None:
        cfg = self.lx.config
        # APScheduler logs every run at INFO (dispatch_outbox runs every few seconds); our jobs log results.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        sched = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.lx.engine, tablename=JOBSTORE_TABLE)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": cfg.scheduler.misfire_grace_seconds,
            },
            timezone=cfg.tz,
        )
        sched.start(paused=True)
        sync_jobs(sched, cfg)
        sched.resume()
        self.scheduler = sched

    def _stop_scheduler(self, *, wait: bool) -> None:
        sched, self.scheduler = self.scheduler, None
        if sched is not None and sched.running:
            sched.shutdown(wait=wait)


def sync_jobs(sched: BackgroundScheduler, config: Config) -> list[str]:
    """Make the stored jobs match ``job_triggers``: add missing ones, replace changed ones, drop unknown ones.
    A job whose trigger is unchanged keeps its next run time (so a missed run is made up within the grace).
    Returns the names (re)written."""
    grace = config.scheduler.misfire_grace_seconds
    wanted = job_triggers(config)
    written = []
    for job in sched.get_jobs():
        if job.id not in wanted:
            job.remove()
    for name, trigger in wanted.items():
        job = sched.get_job(name)
        if (
            job is not None
            and str(job.trigger) == str(trigger)
            and job.misfire_grace_time == grace
            and job.func_ref == "reminders.scheduler:run_job"
        ):
            continue
        sched.add_job(
            "reminders.scheduler:run_job",
            trigger=trigger,
            args=[name],
            id=name,
            name=name,
            replace_existing=True,
            misfire_grace_time=grace,
            coalesce=True,
            max_instances=1,
        )
        written.append(name)
    return written


def start_background(lx: Any, **kw: Any) -> SchedulerRunner:
    """For ``lianxin serve``: run the scheduler in a background thread of this process (if it gets the lease)."""
    return SchedulerRunner(lx, **kw).start()


def run_forever(lx: Any, *, echo: Any = print) -> None:
    """For ``lianxin scheduler``: run until SIGINT/SIGTERM."""
    runner = SchedulerRunner(lx)
    stop = threading.Event()

    def _signal(_sig: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _signal)
    signal.signal(signal.SIGINT, _signal)
    runner.start()
    echo(f"lianxin scheduler {runner.holder}: waiting for the scheduler lease (one active per database)")
    announced = False
    try:
        while not stop.wait(1):
            if runner.is_leader and not announced:
                echo("lianxin scheduler: active; jobs: " + ", ".join(JOBS))
                announced = True
            elif not runner.is_leader and announced:
                echo("lianxin scheduler: lease lost, waiting")
                announced = False
    finally:
        runner.shutdown(wait=False)
        echo("lianxin scheduler: stopped")


def list_jobs(lx: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each job, its trigger and next run: the stored one when a scheduler has run, else computed."""
    now = now or lx.now()
    stored: dict[str, datetime | None] = {}
    if inspect(lx.engine).has_table(JOBSTORE_TABLE):
        store = SQLAlchemyJobStore(engine=lx.engine, tablename=JOBSTORE_TABLE)
        for job in store.get_all_jobs():
            stored[job.id] = job.next_run_time
    out = []
    for name, trigger in job_triggers(lx.config).items():
        nxt = (
            stored.get(name)
            if name in stored
            else trigger.get_next_fire_time(None, now.astimezone(lx.config.tz))
        )
        out.append({"name": name, "trigger": str(trigger), "next_run": nxt, "stored": name in stored})
    return out


def lease_holder(lx: Any) -> tuple[str, datetime] | None:
    return lease.holder_of(lx.engine, LEASE_NAME, now=lease.real_now())
