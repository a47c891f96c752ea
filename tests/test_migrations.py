"""Alembic: upgrade from an empty database, downgrade one step, upgrade again; the models' constraints hold."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import is_sqlite, make_engine, normalize_url
from storage.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from storage.models import (
    Base,
    BindCode,
    CadreLeave,
    ConsoleUser,
    Feedback,
    Household,
    InboundMessage,
    Link,
    MonthlySummary,
    OutboxMessage,
    ReminderSent,
    RequestReply,
    ServiceCard,
    Task,
    TaskAssignment,
    VillagerRequest,
    WechatIdentity,
)
from storage.targets import Target, TargetKind
from storage.timestamps import with_clock
from tests.support.factories import Factory
from tests.support.pgtools import scratch_database


@pytest.fixture
def fresh_url(tmp_path) -> Iterator[str]:
    """An empty database of the kind the suite runs on (SQLite file, or a new PostgreSQL database)."""
    server = normalize_url(os.environ.get("LIANXIN_TEST_DATABASE_URL", ""))
    if not server or is_sqlite(server):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with scratch_database(server, prefix="lianxin_m", skip_reason="no PostgreSQL server") as url:
        yield url


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_from_empty_downgrade_one_step_and_upgrade_again(fresh_url):
    assert current_revision(fresh_url) is None and tables(fresh_url) == set()
    upgrade(fresh_url)
    assert current_revision(fresh_url) == head_revision()
    assert tables(fresh_url) == set(Base.metadata.tables)
    assert diff(fresh_url) == []
    downgrade(fresh_url, "-1")
    after_down = tables(fresh_url)
    assert current_revision(fresh_url) != head_revision()
    # one step down the schema no longer matches the models (a revision may drop tables or only columns)
    assert after_down <= set(Base.metadata.tables) and diff(fresh_url) != []
    upgrade(fresh_url)
    assert current_revision(fresh_url) == head_revision()
    assert diff(fresh_url) == []


def test_a_database_with_answered_requests_migrates_down_and_up_keeping_them(fresh_url, clock):
    """SQLite changes a column by copying the table; with rows pointing at it (a reply to a request) the copy
    must neither be refused by the foreign keys nor lose a row, in either direction."""
    upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        with Session(with_clock(engine, clock)) as s, s.begin():
            f = Factory(s)
            cadre = f.cadre()
            h = f.household(cadre, head_name="张大爷")
            v = f.identity("o-migrate", household=h)
            req = VillagerRequest(
                number=1,
                household_id=h.id,
                identity_id=v.id,
                cadre_id=cadre.id,
                category="求助",
                text="屋顶漏雨",
                created_at=datetime(2026, 11, 2, tzinfo=UTC),
            )
            s.add(req)
            s.flush()
            s.add(
                RequestReply(
                    request_id=req.id,
                    author=f"cadre:{cadre.phone}",
                    text="明天来修",
                    created_at=datetime(2026, 11, 2, 1, tzinfo=UTC),
                )
            )
    finally:
        engine.dispose()
    downgrade(fresh_url, "-1")
    upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(VillagerRequest)) == 1
            assert s.scalar(select(RequestReply.text)) == "明天来修"
    finally:
        engine.dispose()


def test_downgrading_below_the_office_month_keeps_only_leave_that_counted(fresh_url, clock):
    """The older schema has no leave status (every row is leave that counts): a request still waiting or a
    refused one must go, not become approved leave."""
    upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        with Session(with_clock(engine, clock)) as s, s.begin():
            cadre = Factory(s).cadre()
            for status, day in (("approved", 1), ("requested", 8), ("refused", 15)):
                s.add(
                    CadreLeave(
                        cadre_id=cadre.id,
                        start_date=date(2026, 12, day),
                        end_date=date(2026, 12, day + 1),
                        reason=status,
                        status=status,
                    )
                )
    finally:
        engine.dispose()
    below = (
        ScriptDirectory.from_config(alembic_config(fresh_url)).get_revision("0004_office_month").down_revision
    )
    downgrade(fresh_url, below)
    engine = make_engine(fresh_url)
    try:
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(text("SELECT reason FROM cadre_leave"))] == [("approved",)]
    finally:
        engine.dispose()
    upgrade(fresh_url)


def test_an_sqlite_library_too_old_for_on_conflict_returning_is_refused_at_start(monkeypatch, tmp_path):
    import sqlite3

    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    with pytest.raises(RuntimeError, match="3.35"):
        make_engine(f"sqlite:///{tmp_path / 'old.db'}")


def test_upgrade_twice_is_harmless(fresh_url):
    upgrade(fresh_url)
    upgrade(fresh_url)
    assert current_revision(fresh_url) == head_revision()


# --------------------------------------------------------------------------------------------------
# Constraints (on the migrated test database)
# --------------------------------------------------------------------------------------------------


def _violates(session, *rows) -> None:
    session.add_all(rows)
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


@pytest.fixture
def base(session):
    f = Factory(session)
    cadre = f.cadre(phone="13900000001")
    h = f.household(cadre, card="00100001")
    session.commit()
    return f, cadre, h


def test_cadre_phone_is_unique(session, base):
    f, cadre, h = base
    with pytest.raises(IntegrityError):
        f.cadre(phone="13900000001")
    session.rollback()


def test_one_cadre_per_household_and_one_card(session, base):
    f, cadre, h = base
    other = f.cadre()
    session.commit()
    _violates(session, Link(household_id=h.id, cadre_id=other.id))
    _violates(session, ServiceCard(household_id=h.id, number="99999999"))


def test_card_numbers_are_unique(session, base):
    f, cadre, h = base
    h2 = Household(village_id=h.village_id, head_name="另一户", population=2)
    session.add(h2)
    session.commit()
    _violates(session, ServiceCard(household_id=h2.id, number="00100001"))


def test_population_cannot_be_negative(session, base):
    f, cadre, h = base
    _violates(session, Household(village_id=h.village_id, head_name="负数户", population=-1))


def test_foreign_keys_are_enforced(session, base):
    _violates(session, Link(household_id=999999, cadre_id=999999))


def test_check_constraints_on_kinds_and_statuses(session, base):
    f, cadre, h = base
    _violates(session, WechatIdentity(openid="o-x", kind="boss"))
    _violates(session, ConsoleUser(username="u1", password_hash="x", role="root"))
    now = datetime.now(UTC)
    task = Task(number=1, title="t", body="b", deadline=now + timedelta(days=1), targets=[Target.all()])
    session.add(task)
    session.commit()
    _violates(
        session, TaskAssignment(task_id=task.id, cadre_id=cadre.id, deadline=task.deadline, status="lost")
    )
    _violates(
        session, CadreLeave(cadre_id=cadre.id, start_date=date(2026, 11, 10), end_date=date(2026, 11, 9))
    )


def test_unique_natural_keys(session, base):
    f, cadre, h = base
    now = datetime.now(UTC)
    task = Task(number=7, title="t", body="b", deadline=now, targets=[Target.all()])
    session.add(task)
    session.add(
        MonthlySummary(cadre_id=cadre.id, month="2026-11", text="a", submitted_day=date(2026, 11, 30))
    )
    session.add(ReminderSent(kind="diary", person="c1", period="2026-11-24"))
    session.add(InboundMessage(dedup_key="msg:1", openid="o1", msg_type="text", create_time=now))
    session.add(BindCode(cadre_id=cadre.id, code_hash="h" * 64, expires_at=now))
    session.commit()
    session.add(TaskAssignment(task_id=task.id, cadre_id=cadre.id, deadline=now))
    session.commit()
    _violates(session, Task(number=7, title="t2", body="b", deadline=now, targets=[]))
    _violates(session, TaskAssignment(task_id=task.id, cadre_id=cadre.id, deadline=now))
    _violates(
        session,
        MonthlySummary(cadre_id=cadre.id, month="2026-11", text="b", submitted_day=date(2026, 11, 30)),
    )
    _violates(session, ReminderSent(kind="diary", person="c1", period="2026-11-24"))
    _violates(session, InboundMessage(dedup_key="msg:1", openid="o2", msg_type="text", create_time=now))
    _violates(session, BindCode(cadre_id=cadre.id, code_hash="h" * 64, expires_at=now))


def test_naive_datetimes_are_refused(session, base):
    f, cadre, h = base
    session.add(
        InboundMessage(dedup_key="msg:naive", openid="o1", msg_type="text", create_time=datetime(2026, 1, 1))
    )
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()
    session.rollback()


# ------------------------------------------------------------------------------------------
# The schema as migrated matches the models, and the basic constraints hold.


def _ours(obj, name, type_, reflected, compare_to):
    # APScheduler creates and owns its job-store table (reminders.scheduler), outside our migrations.
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table != "apscheduler_jobs"


def test_migrations_match_models(lx):
    with lx.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _ours})
        diff = compare_metadata(ctx, Base.metadata)
    # a schema change is storage/models.py plus a new revision in storage/migrations/versions/ (never an edit of a
    # released one): see docs/architecture.md, "the schema"
    assert diff == [], f"models and migrations differ; add a revision in storage/migrations/versions/: {diff}"


def test_one_cadre_per_household(session):
    f = Factory(session)
    a, b = f.cadre(), f.cadre()
    h = f.household(a)
    session.commit()
    session.add(Link(household_id=h.id, cadre_id=b.id))
    with pytest.raises(IntegrityError):
        session.flush()


# ------------------------------------------------------------------------------------------
# 0008_county: a database from before the county work migrates into its one township, nothing lost.

PRE_COUNTY = "0004_office_month"
FIGURES = {
    "villages": "SELECT COUNT(*) FROM village",
    "cadres": "SELECT COUNT(*) FROM cadre",
    "households": "SELECT COUNT(*) FROM household",
    "links": "SELECT COUNT(*) FROM link",
    "tasks": "SELECT COUNT(*) FROM task",
    "assignments": "SELECT COUNT(*) FROM task_assignment",
    "diaries": "SELECT COUNT(*) FROM diary_entry",
    "users": "SELECT COUNT(*) FROM console_user",
    "households_per_cadre": "SELECT cadre_id, COUNT(*) FROM link GROUP BY cadre_id ORDER BY cadre_id",
}


def _figures(conn) -> dict[str, object]:
    from sqlalchemy import text as sql

    out: dict[str, object] = {k: conn.execute(sql(q)).all() for k, q in FIGURES.items()}
    out["cards"] = conn.execute(
        sql("SELECT household_id, number, qr_scene FROM service_card ORDER BY id")
    ).all()
    return out


def _populate_pre_county(conn) -> None:
    from sqlalchemy import text as sql

    now = datetime(2026, 11, 2, 8, tzinfo=UTC).replace(tzinfo=None)
    conn.execute(sql("INSERT INTO township (id, name) VALUES (1, '龙伏镇')"))
    conn.execute(sql("INSERT INTO village (id, township_id, name) VALUES (1, 1, '新桥村'), (2, 1, '石门村')"))
    conn.execute(
        sql(
            "INSERT INTO cadre (id, name, phone, village_id, active, created_at, updated_at) VALUES "
            "(1, '李明', '13900000001', 1, true, :t, :t), (2, '王芳', '13900000002', 2, true, :t, :t), "
            "(3, '赵无村', '13900000003', NULL, true, :t, :t)"
        ),
        {"t": now},
    )
    for h in range(1, 7):
        conn.execute(
            sql(
                "INSERT INTO household (id, village_id, head_name, population, created_at, updated_at) "
                "VALUES (:h, :v, :n, 3, :t, :t)"
            ),
            {"h": h, "v": 1 + h % 2, "n": f"户{h}", "t": now},
        )
        conn.execute(
            sql("INSERT INTO link (household_id, cadre_id, linked_at) VALUES (:h, :c, :t)"),
            {"h": h, "c": 1 + h % 3, "t": now},
        )
        conn.execute(
            sql("INSERT INTO service_card (household_id, number, qr_scene) VALUES (:h, :n, :q)"),
            {"h": h, "n": f"2000000{h}", "q": f"scene-{h}"},
        )
    conn.execute(
        sql(
            "INSERT INTO task (id, number, title, body, deadline, published_at, targets, created_by, "
            "created_at) VALUES (1, 1, '秋收', '入户', :t, :t, '[\"all\"]', 'cli', :t)"
        ),
        {"t": now},
    )
    for c in (1, 2, 3):
        conn.execute(
            sql(
                "INSERT INTO task_assignment (task_id, cadre_id, status, deadline, returned_count) "
                "VALUES (1, :c, 'done', :t, 0)"
            ),
            {"c": c, "t": now},
        )
        conn.execute(
            sql(
                "INSERT INTO diary_entry (cadre_id, day, text, source, created_at) "
                "VALUES (:c, :d, '走访', 'text', :t)"
            ),
            {"c": c, "d": date(2026, 11, 2), "t": now},
        )
    conn.execute(
        sql(
            "INSERT INTO console_user (username, password_hash, role, village_id, active, created_at) VALUES "
            "('admin', 'x', 'admin', NULL, true, :t), ('xinqiao', 'x', 'village', 1, true, :t), "
            "('leader', 'x', 'viewer', NULL, true, :t)"
        ),
        {"t": now},
    )


@contextmanager
def _connected(url: str, *, begin: bool = False):
    engine = make_engine(url)
    try:
        with engine.begin() if begin else engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _pre_county(url: str, *more: str) -> dict[str, object]:
    """A database at the revision before the county work with _populate_pre_county's data and the ``more``
    statements; returns its figures."""
    from sqlalchemy import text as sql

    upgrade(url, PRE_COUNTY)
    with _connected(url, begin=True) as conn:
        _populate_pre_county(conn)
        for statement in more:
            conn.execute(sql(statement))
    with _connected(url) as conn:
        return _figures(conn)


def test_a_pre_county_database_migrates_into_its_one_township_keeping_every_figure(fresh_url):
    from sqlalchemy import text as sql

    before = _pre_county(fresh_url)
    upgrade(
        fresh_url, township="示范镇"
    )  # the config's name is not used: the database already has its township
    assert current_revision(fresh_url) == head_revision()
    with _connected(fresh_url) as conn:
        assert _figures(conn) == before
        assert conn.execute(sql("SELECT name FROM township")).scalars().all() == ["龙伏镇"]
        assert set(conn.execute(sql("SELECT township_id FROM cadre")).scalars()) == {1}
        assert set(conn.execute(sql("SELECT township_id FROM task")).scalars()) == {1}
        assert set(conn.execute(sql("SELECT township_id FROM console_user")).scalars()) == {1}


def test_people_without_a_township_row_get_the_configured_township(fresh_url):
    from sqlalchemy import text as sql

    upgrade(fresh_url, PRE_COUNTY)
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sql(
                    "INSERT INTO console_user (username, password_hash, role, active, created_at) "
                    "VALUES ('admin', 'x', 'admin', true, :t)"
                ),
                {"t": datetime(2026, 11, 2)},
            )
        upgrade(fresh_url, township="青山镇")
        with engine.connect() as conn:
            assert conn.execute(sql("SELECT name FROM township")).scalars().all() == ["青山镇"]
            assert conn.execute(sql("SELECT township_id FROM console_user")).scalar() is not None
    finally:
        engine.dispose()


def test_a_pre_county_database_with_a_renamed_township_stays_one_township(fresh_url):
    """Before the county work the importer made a new township row when [general] township was renamed: the
    upgrade puts every village into the configured one and keeps one row, so the database is not a county."""
    from sqlalchemy import text as sql

    before = _pre_county(
        fresh_url,
        "INSERT INTO township (id, name) VALUES (2, '龙伏乡')",
        "UPDATE village SET township_id = 2 WHERE name = '石门村'",
    )
    upgrade(fresh_url, township="龙伏乡")
    with _connected(fresh_url) as conn:
        assert _figures(conn) == before
        assert conn.execute(sql("SELECT id, name FROM township")).all() == [(2, "龙伏乡")]
        assert set(conn.execute(sql("SELECT township_id FROM village")).scalars()) == {2}
        assert set(conn.execute(sql("SELECT township_id FROM console_user")).scalars()) == {2}


def test_a_pre_county_database_with_one_village_under_two_township_rows_is_refused(fresh_url):
    _pre_county(
        fresh_url,
        "INSERT INTO township (id, name) VALUES (2, '龙伏乡')",
        "INSERT INTO village (id, township_id, name) VALUES (3, 2, '新桥村')",
    )
    with pytest.raises(Exception, match="重名"):
        upgrade(fresh_url, township="龙伏乡")
    assert current_revision(fresh_url) != head_revision()


# 0010_bind_codes: the bindings a database already holds start the cadres' binding history.


def test_existing_cadre_bindings_start_the_binding_history(fresh_url):
    from sqlalchemy import text as sql

    upgrade(fresh_url, "0009_township_circulars")
    now = datetime(2026, 11, 2, 8, tzinfo=UTC).replace(tzinfo=None)
    with _connected(fresh_url, begin=True) as conn:
        conn.execute(sql("INSERT INTO township (id, name) VALUES (1, '龙伏镇')"))
        conn.execute(
            sql(
                "INSERT INTO cadre (id, name, phone, township_id, active, created_at, updated_at) VALUES "
                "(1, '李明', '13900000001', 1, true, :t, :t), (2, '王芳', '13900000002', 1, true, :t, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sql(
                "INSERT INTO wechat_identity (openid, kind, cadre_id, bound_at, first_seen_at, window_sent, "
                "window_quota, subscribed, unreachable) VALUES "
                "('o-li', 'cadre', 1, :t, :t, 0, 0, true, false), "
                "('o-someone', 'unknown', NULL, NULL, :t, 0, 0, true, false)"
            ),
            {"t": now},
        )
    upgrade(fresh_url)
    with _connected(fresh_url) as conn:
        rows = conn.execute(sql("SELECT cadre_id, openid, code_id, released_at FROM cadre_binding")).all()
    assert rows == [(1, "o-li", None, None)]
    downgrade(fresh_url, "0009_township_circulars")
    assert "cadre_binding" not in tables(fresh_url)


def test_house_rules_migration_keeps_numbers_types_targets_and_references_and_voids_old_codes(fresh_url):
    """0014: the counters start after the numbers issued; target strings become typed targets by id; card pushes
    and cadres' feedback get their assignment's and cadre's ids; unused sha256 binding codes are voided. Down
    again, the targets are strings as before."""
    from sqlalchemy import text as sql

    from storage import numbering

    upgrade(fresh_url, "0013_push_edges")
    now = datetime(2026, 11, 2, 8, tzinfo=UTC).replace(tzinfo=None)
    with _connected(fresh_url, begin=True) as conn:
        conn.execute(sql("INSERT INTO township (id, name) VALUES (1, '龙伏镇')"))
        conn.execute(sql("INSERT INTO village (id, township_id, name) VALUES (1, 1, '新桥村')"))
        conn.execute(
            sql(
                "INSERT INTO cadre (id, name, phone, village_id, township_id, active, created_at, updated_at) "
                "VALUES (1, '李明', '13900000001', 1, 1, true, :t, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sql(
                "INSERT INTO household (id, village_id, head_name, population, created_at, updated_at) "
                "VALUES (1, 1, '张大爷', 3, :t, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sql(
                "INSERT INTO task (id, number, title, body, deadline, targets, created_by, created_at) VALUES "
                "(1, 7, '秋收', '入户', :t, :targets, 'cli', :t)"
            ),
            {"t": now, "targets": '["village:新桥村", "干部:139 0000 0001", "all", "village:没有的村"]'},
        )
        conn.execute(
            sql(
                "INSERT INTO task_assignment (id, task_id, cadre_id, status, deadline, returned_count) "
                "VALUES (5, 1, 1, 'pending', :t, 0)"
            ),
            {"t": now},
        )
        conn.execute(
            sql(
                "INSERT INTO feedback (assignment_id, kind, text, author, created_at) VALUES "
                "(5, 'feedback', '已走访', 'cadre:13900000001', :t), (5, 'return', '补照片', 'console:admin', :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sql(
                "INSERT INTO outbox_message (idempotency_key, openid, kind, payload, status, attempts, "
                "next_attempt_at, created_at) VALUES ('task:1:cadre:1', 'o-li', 'task', '{}', 'pending', 0, :t, :t), "
                "('rem:x', 'o-li', 'reminder', '{}', 'pending', 0, :t, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sql(
                "INSERT INTO villager_request (number, household_id, cadre_id, channel, category, text, msg_type, "
                "created_at, status, reopened_count) VALUES (41, 1, 1, 'phone', '求助', '漏雨', 'text', :t, 'open', 0)"
            ),
            {"t": now},
        )
        conn.execute(
            sql(
                "INSERT INTO bind_code (cadre_id, code_hash, created_at, expires_at, created_by, used_at) VALUES "
                "(1, :unused, :t, :t, 'cli', NULL), (1, :used, :t, :t, 'cli', :t)"
            ),
            {"t": now, "unused": "a" * 64, "used": "b" * 64},
        )
    upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        with Session(engine) as s, s.begin():
            assert numbering.draw(s, "task") == 8 and numbering.draw(s, "villager_request") == 42
            assert s.get(Task, 1).targets == [
                Target.village(1, "新桥村"),
                Target.cadre(1, "13900000001"),
                Target.all(),
                Target(TargetKind.VILLAGE, None, "没有的村"),
            ]
            keys = dict(
                s.execute(select(OutboxMessage.idempotency_key, OutboxMessage.assignment_id)).tuples().all()
            )
            assert keys == {"task:1:cadre:1": 5, "rem:x": None}
            assert dict(s.execute(select(Feedback.kind, Feedback.cadre_id)).tuples().all()) == {
                "feedback": 1,
                "return": None,
            }
            voided = dict(s.execute(select(BindCode.code_hash, BindCode.revoked_at)).tuples().all())
            assert voided["a" * 64] is not None and voided["b" * 64] is None
    finally:
        engine.dispose()
    downgrade(fresh_url, "0013_push_edges")
    with _connected(fresh_url) as conn:
        raw = conn.execute(sql("SELECT targets FROM task")).scalar()
    assert (json.loads(raw) if isinstance(raw, str) else raw) == [
        "village:新桥村",
        "cadre:13900000001",
        "all",
        "village:没有的村",
    ]
