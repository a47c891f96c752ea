"""Shared set-up for the console tests: a small two-village world, console users, logged-in clients."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from bot.app import create_app
from storage import numbering
from storage.models import (
    Attachment,
    AuditLog,
    CadreLeave,
    ConsoleUser,
    DiaryEntry,
    PolicyEntry,
    Township,
    Village,
    VillagerRequest,
)
from storage.targets import Target
from tests.support.factories import Factory

PASSWORDS = {"admin": "admin-pass-1", "xinqiao": "village-pass-1", "leader": "viewer-pass-1"}


@dataclass
class World:
    lx: Any
    clock: Any
    app: Any
    ids: dict[str, int] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)
    openids: dict[str, str] = field(default_factory=dict)

    def login(self, username: str, password: str | None = None) -> Client:
        c = Client(self.app.test_client())
        r = c.login(username, password or PASSWORDS[username])
        assert r.status_code == 302, r.get_data(as_text=True)
        return c

    def count(self, model: Any, *where: Any) -> int:
        with self.lx.session() as s:
            return s.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def one(self, stmt: Any) -> Any:
        with self.lx.session() as s:
            row = s.scalar(stmt)
            if hasattr(row, "_sa_instance_state"):
                s.expunge(row)
            return row

    def audits(self, action: str) -> list[AuditLog]:
        with self.lx.session() as s:
            rows = list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))
            for r in rows:
                s.expunge(r)
            return rows


class Client:
    """A Flask test client that knows its CSRF token."""

    def __init__(self, c: Any) -> None:
        self.c = c
        self.token = ""

    def refresh_token(self, html: str) -> None:
        m = re.search(r'name="csrf_token" value="([^"]+)"', html)
        if m:
            self.token = m.group(1)

    def login(self, username: str, password: str) -> Any:
        r = self.c.get("/login")
        self.refresh_token(r.get_data(as_text=True))
        r = self.c.post("/login", data={"username": username, "password": password, "csrf_token": self.token})
        if r.status_code == 302:
            self.get("/")  # a new session has a new CSRF token
        return r

    def get(self, url: str, **kw: Any) -> Any:
        r = self.c.get(url, **kw)
        if r.mimetype == "text/html":
            self.refresh_token(r.get_data(as_text=True))
        return r

    def post(self, url: str, data: dict[str, Any] | None = None, csrf: bool = True, **kw: Any) -> Any:
        data = dict(data or {})
        if csrf:
            if not self.token:
                self.get("/")
            data.setdefault("csrf_token", self.token)
        return self.c.post(url, data=data, **kw)


def build_world(lx: Any, clock: Any) -> World:
    """Two villages; in each a cadre with households, a bound villager with a request; a task for all."""
    clock.set("2026-11-24 10:00")
    w = World(lx, clock, create_app(lx))
    with lx.session() as s:
        f = Factory(s)
        xq, sm = f.village("新桥村"), f.village("石门村")
        a = f.cadre("李明", phone="13900000001", village=xq, post="村支书")
        b = f.cadre("王芳", phone="13900000002", village=sm, post="驻村干部", unit="镇农业服务中心")
        ha = f.household(
            a,
            head_name="张大山",
            card="10000001",
            village=xq,
            head_phone="13811112222",
            address="新桥村一组 8 号",
        )
        ha2 = f.household(a, head_name="赵小河", card="10000002", village=xq)
        hb = f.household(b, head_name="钱石头", card="20000001", village=sm, head_phone="13833334444")
        ia = f.identity("demo-cadre-01", cadre=a)
        f.identity("demo-cadre-02", cadre=b)
        va = f.identity("demo-villager-001", household=ha)
        vb = f.identity("demo-villager-002", household=hb)
        ra = VillagerRequest(
            number=numbering.draw(s, "villager_request"),  # 1
            household_id=ha.id,
            identity_id=va.id,
            cadre_id=a.id,
            category="求助",
            text="饮水管冻裂了，请帮忙看看",
            created_at=clock() - timedelta(hours=30),
        )
        rb = VillagerRequest(
            number=numbering.draw(s, "villager_request"),  # 2
            household_id=hb.id,
            identity_id=vb.id,
            cadre_id=b.id,
            category="咨询",
            text="低保怎么申请？",
            created_at=clock() - timedelta(hours=2),
        )
        s.add_all([ra, rb])
        s.add(
            DiaryEntry(
                cadre_id=a.id,
                day=clock().astimezone(lx.config.tz).date(),
                text="走访张大山家，了解 100% 入户情况",
                created_at=clock(),
            )
        )
        s.add(
            DiaryEntry(
                cadre_id=b.id,
                day=clock().astimezone(lx.config.tz).date(),
                text="调解钱石头家邻里纠纷",
                created_at=clock(),
            )
        )
        s.add(
            PolicyEntry(topic="环境卫生", title="门前三包", body="房前屋后干净整洁。", keywords="卫生 三包")
        )
        s.flush()
        # Real argon2 hashes checked by storage.accounts.verify_password, with test-sized cost parameters
        # (the parameters travel inside the hash) so that each test does not spend seconds hashing.
        cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
        for name, role, village in (
            ("admin", "admin", None),
            ("xinqiao", "village", xq),
            ("leader", "viewer", None),
        ):
            s.add(
                ConsoleUser(
                    username=name,
                    password_hash=cheap.hash(PASSWORDS[name]),
                    role=role,
                    village_id=village.id if village else None,
                )
            )
        w.ids.update(
            cadre_a=a.id,
            cadre_b=b.id,
            hh_a=ha.id,
            hh_a2=ha2.id,
            hh_b=hb.id,
            req_a=1,
            req_b=2,
            village_a=xq.id,
            village_b=sm.id,
            ident_cadre_a=ia.id,
        )
        w.phones.update(cadre_a=a.phone, cadre_b=b.phone, hh_a="13811112222")
        w.openids.update(
            cadre_a="demo-cadre-01",
            cadre_b="demo-cadre-02",
            villager_a="demo-villager-001",
            villager_b="demo-villager-002",
        )
    # A published card for everybody (through the tasks service, as the console would).
    from handlers import task_notices as tasks

    with lx.session() as s:
        t = tasks.create_task(
            s,
            title="冬季防火入户宣传",
            body="逐户宣传防火知识",
            deadline=clock() + timedelta(days=2),
            targets=[Target.all()],
            actor="test",
            now=clock(),
            tz=lx.config.tz,
        )
        w.ids["task"] = t.number
    return w


def add_second_township(w: World) -> None:
    """青山镇 beside the console world's 龙伏镇, with its own people, and the county's and 龙伏镇's accounts."""
    from handlers import task_notices  # as build_world: the service a test drives, imported where it is used

    clock = w.clock
    with w.lx.session() as s:
        f = Factory(s)
        longfu = f.township()
        t2 = Township(name="青山镇")
        s.add(t2)
        s.flush()
        v2 = Village(township_id=t2.id, name="白云村")
        s.add(v2)
        s.flush()
        c2 = f.cadre("孙海", phone="13900000009", village=v2)
        h2 = f.household(c2, head_name="周山", card="30000001", village=v2, head_phone="13855556666")
        i2 = f.identity("demo-villager-009", household=h2)
        f.identity("demo-cadre-09", cadre=c2)
        r2 = VillagerRequest(
            number=numbering.draw(s, "villager_request"),  # 3
            household_id=h2.id,
            identity_id=i2.id,
            cadre_id=c2.id,
            category="求助",
            text="青山镇的诉求：修桥",
            created_at=clock(),
        )
        s.add(r2)
        s.add(
            DiaryEntry(
                cadre_id=c2.id,
                day=clock().astimezone(w.lx.config.tz).date(),
                text="青山镇日记：走访周山",
                created_at=clock(),
            )
        )
        leave2 = CadreLeave(
            cadre_id=c2.id,
            start_date=date(2026, 11, 30),
            end_date=date(2026, 11, 30),
            reason="看病",
            status="requested",
        )
        s.add(leave2)
        s.flush()
        att2 = Attachment(
            owner_type="request", owner_id=r2.id, media_type="image", media_id="m-t2", created_at=clock()
        )
        s.add(att2)
        cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
        for name, role, tid in (
            ("longfu", "admin", longfu.id),
            ("longfu-leader", "viewer", longfu.id),
            ("county", "county-admin", None),
            ("county-leader", "county-viewer", None),
        ):
            PASSWORDS.setdefault(name, f"{name}-pass-1")
            s.add(
                ConsoleUser(
                    username=name, password_hash=cheap.hash(PASSWORDS[name]), role=role, township_id=tid
                )
            )
        s.flush()
        card2 = task_notices.create_task(
            s,
            title="青山镇自己的督办卡",
            body="只发青山镇",
            deadline=clock() + timedelta(days=2),
            targets=[Target.all()],
            actor="test",
            now=clock(),
            tz=w.lx.config.tz,
            township_id=t2.id,
        )
        w.ids.update(
            cadre_t2=c2.id,
            hh_t2=h2.id,
            req_t2=3,
            village_t2=v2.id,
            leave_t2=leave2.id,
            attachment_t2=att2.id,
            task_t2=card2.number,
            township_a=longfu.id,
            township_t2=t2.id,
        )


@pytest.fixture(name="world")
def world_fixture(lx: Any, clock: Any) -> World:
    return build_world(lx, clock)


def page_text(r: Any) -> str:
    """A test-client response's body as text."""
    return r.get_data(as_text=True)


def admin_client(lx: Any, username: str = "admin") -> Client:
    """A logged-in console client of a fresh admin account on ``lx`` (for tests whose world is not build_world)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    with lx.session() as s:
        s.add(ConsoleUser(username=username, password_hash=cheap.hash("admin-pass-1"), role="admin"))
    c = Client(create_app(lx).test_client())
    assert c.login(username, "admin-pass-1").status_code == 302
    return c
