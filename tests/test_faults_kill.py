"""A dispatcher killed with SIGKILL in the middle of a 3,000-message broadcast, then restarted.

The broadcast is a real one: a supervision card for all 3,000 cadres (storage.tasks.create_task), delivered by
the real command ``lianxin dispatch`` running as a subprocess against the fake WeChat API server in this
process. The dispatcher is killed twice mid-run (after ~1,000 and ~2,000 deliveries) and restarted.

Expected (reminders/delivery.py, "A message can thus go out twice only if the process dies between WeChat's
answer and that UPDATE"): every message delivered; duplicates only from that window, so at most one per kill
(the dispatcher sends one message at a time). The count is printed.

A killed dispatcher's claim runs 120 s (CLAIM_SECONDS); the test fast-forwards it — as if those two minutes
had passed — by moving the dead process's ``claimed_until`` (and, on SQLite, its dispatcher lease) into the
past, instead of sleeping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from handlers import task_notices as tasks
from reminders.delivery import SQLITE_LEASE
from storage.models import Cadre, Lease, OutboxMessage, TaskAssignment, WechatIdentity
from storage.outbox import user_window_columns
from storage.timestamps import utcnow
from tests.fake_wechat import FakeWechat
from tests.support.processes import write_config

N = 3000
KILL_AT = (1000, 2000)


def lianxin_cmd(config: Path, *args: str) -> list[str]:
    script = Path(sys.executable).with_name("lianxin")
    base = [str(script)] if script.exists() else [sys.executable, "-c", "from bot.cli import main; main()"]
    return [*base, "--config", str(config), *args]


def start_dispatcher(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("LIANXIN_DATABASE_URL", "LIANXIN_CONFIG")}
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            lianxin_cmd(config, "dispatch", "--interval", "0.2"),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(config.parent),
        )


def wait_for(
    predicate: Any, what: str, proc: subprocess.Popen[bytes] | None = None, limit: float = 240
) -> None:
    """Poll until ``predicate()``; the limit only stops a broken run from hanging CI (not a timing assertion)."""
    end = time.monotonic() + limit
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the dispatcher exited ({proc.returncode}) while waiting for {what}")
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def broadcast(lx: Any, fake: FakeWechat) -> int:
    """3,000 bound cadres (half of them wrote to us lately: custom messages; half only templates) and a card.

    The dispatcher runs in a subprocess on the real clock, so "lately" is measured from the real now."""
    now = lx.now()
    with lx.session() as s:
        from tests.support.factories import Factory

        village = Factory(s).village()
        s.execute(
            insert(Cadre),
            [
                {
                    "name": f"干部{i:04d}",
                    "phone": f"1370000{i:04d}",
                    "post": "驻村干部",
                    "village_id": village.id,
                    "active": True,
                }
                for i in range(N)
            ],
        )
        ids = list(s.scalars(select(Cadre.id).order_by(Cadre.id)))
        rows = []
        for i, cid in enumerate(ids):
            recent = i % 2 == 0
            rows.append(
                {
                    "openid": f"o-kill-{i:04d}",
                    "kind": "cadre",
                    "cadre_id": cid,
                    "bound_at": now,
                    "first_seen_at": now,
                    "subscribed": True,
                    "unreachable": False,
                    **user_window_columns(utcnow() - timedelta(hours=1) if recent else None),
                }
            )
            if recent:
                fake.interact(f"o-kill-{i:04d}")
        s.execute(insert(WechatIdentity), rows)
        t = tasks.create_task(
            s,
            title="冬季防火入户宣传",
            body="逐户宣传防火知识，本周内反馈。",
            deadline=now + timedelta(days=3),
            targets=["all"],
            actor="test",
            now=now,
            tz=lx.config.tz,
        )
        return t.number


def expire_dead_claims(lx: Any) -> int:
    """What 120 s would do: the killed dispatcher's claims (and SQLite lease) run out."""
    past = utcnow() - timedelta(seconds=1)
    with lx.session() as s:
        n = s.execute(
            update(OutboxMessage).where(OutboxMessage.status == "sending").values(claimed_until=past)
        ).rowcount
        s.execute(update(Lease).where(Lease.name == SQLITE_LEASE).values(expires_at=past))
    return n or 0


def outbox_left(lx: Any) -> int:
    with lx.sessions() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "sending")))
            )
            or 0
        )


def test_sigkill_mid_broadcast_loses_nothing(lx: Any, migrated_db: str, tmp_path: Path) -> None:
    with FakeWechat() as fake:
        lx.config.wechat.api_base = fake.url
        number = broadcast(lx, fake)
        with lx.sessions() as s:
            assert s.scalar(select(func.count()).select_from(OutboxMessage)) == N
        config = write_config(tmp_path / "config.toml", migrated_db, fake.url, tmp_path / "media")
        log = tmp_path / "dispatch.log"
        procs: list[subprocess.Popen[bytes]] = []
        kills, reclaimed = 0, []
        try:
            for at in KILL_AT:
                proc = start_dispatcher(config, log)
                procs.append(proc)
                wait_for(lambda at=at: len(fake.delivered) >= at, f"{at} deliveries", proc)
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                kills += 1
                assert len(fake.delivered) < N + kills, "the kill came too late to be mid-broadcast"
                reclaimed.append(expire_dead_claims(lx))
            proc = start_dispatcher(config, log)
            procs.append(proc)
            wait_for(lambda: outbox_left(lx) == 0, "the outbox to drain", proc)
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(30)

        sent = Counter(d.openid for d in fake.delivered)
        openids = {f"o-kill-{i:04d}" for i in range(N)}
        missing = openids - set(sent)
        duplicates = sum(c - 1 for c in sent.values())
        print(
            f"\nkill test: {N} messages, {kills} SIGKILLs, {sum(reclaimed)} claimed rows taken over, "
            f"delivered {len(sent)}/{N}, missing {len(missing)}, duplicates {duplicates}"
        )
        assert not missing, f"{len(missing)} never delivered"
        assert set(sent) == openids
        assert duplicates <= kills, f"{duplicates} duplicates; the documented window allows at most {kills}"
        with lx.sessions() as s:
            statuses = dict(
                s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
            )
            assert statuses == {"sent": N}, statuses
            delivered = s.scalar(
                select(func.count())
                .select_from(TaskAssignment)
                .where(TaskAssignment.delivered_at.is_not(None))
            )
            assert delivered == N, "every assignment of the card is marked delivered"
        assert number == 1
        # half went as customer-service messages (window open), half as templates (window closed)
        channels = Counter(d.channel for d in fake.delivered)
        assert channels["custom"] >= N // 2 and channels["template"] >= N // 2
