"""Console pages that change things: households, links, bind codes, cards, requests, policy, reports,
import, delivery, audit — each change lands in the database through the owning service and is audited."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from storage.accounts import code_hash
from storage.audit import record
from storage.models import (
    AuditLog,
    BindCode,
    Feedback,
    Household,
    HouseholdInfoHistory,
    Link,
    LinkChange,
    OutboxMessage,
    PolicyEntry,
    RequestReply,
    ServiceCard,
    Task,
    TaskAssignment,
    VillagerRequest,
    WechatIdentity,
)
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)

text = page_text


# ------------------------------------------------------------------------------------------ dashboard


def test_dashboard_counts(world: World) -> None:
    page = text(world.login("admin").get("/"))
    assert "今日民情日记" in page
    assert "2<small> / 2 名干部已记录" in page
    assert "待答复 · 已超时" in page
    # a village user sees only their village's cadres
    page = text(world.login("xinqiao").get("/"))
    assert "1<small> / 1 名干部已记录" in page


def test_dashboard_shows_overdue_card_with_red_light(world: World) -> None:
    world.clock.set("2026-11-26 08:00")  # the card is due today at 10:00
    page = text(world.login("admin").get("/"))
    assert "今日到期 2 项" in page and 'class="light yellow"' in page and "0<small> 项逾期未反馈" in page
    page = text(world.login("xinqiao").get("/"))
    assert "今日到期 1 项" in page
    world.clock.advance(days=1)
    page = text(world.login("admin").get("/"))
    assert "2<small> 项逾期未反馈" in page
    assert 'class="light red"' in page and "冬季防火入户宣传" in page


# ------------------------------------------------------------------------------------------ households


def test_household_edit_keeps_history_and_audits(world: World) -> None:
    c = world.login("xinqiao")
    hid = world.ids["hh_a"]
    r = c.post(
        f"/households/{hid}",
        {
            "head_name": "张大山",
            "head_phone": "138 1111 2222",
            "population": "5",
            "address": "新桥村一组 8 号",
            "members": "张大山 户主 56 \n李秀 妻子 54 务农",
            "annual_income": "32,000",
            "income_sources": "种植",
            "industries": "烤烟 10 亩",
            "difficulties": "",
        },
    )
    assert r.status_code == 302
    h = world.one(select(Household).where(Household.id == hid))
    assert h.population == 5 and h.members[1] == {
        "name": "李秀",
        "relation": "妻子",
        "age": 54,
        "note": "务农",
    }
    assert str(h.annual_income) == "32000.00" and h.info_updated_by == "office:xinqiao"
    fields = {
        x.field
        for x in world_all(
            world, select(HouseholdInfoHistory).where(HouseholdInfoHistory.household_id == hid)
        )
    }
    assert fields == {"population", "members", "annual_income", "income_sources", "industries"}
    (a,) = world.audits("household.edit")
    assert a.actor == "console:xinqiao" and a.target == f"household:{hid}"
    page = text(c.get(f"/households/{hid}"))
    assert "烤烟 10 亩" in page and "产业项目" in page
    # saving again unchanged adds nothing
    c.post(
        f"/households/{hid}",
        {
            "head_name": "张大山",
            "head_phone": "13811112222",
            "population": "5",
            "address": "新桥村一组 8 号",
            "members": "张大山 户主 56\n李秀 妻子 54 务农",
            "annual_income": "32000",
            "income_sources": "种植",
            "industries": "烤烟 10 亩",
        },
    )
    assert len(world.audits("household.edit")) == 1


def test_household_bad_input_changes_nothing(world: World) -> None:
    c = world.login("admin")
    hid = world.ids["hh_a"]
    for data in (
        {"head_name": "", "population": "3"},
        {"head_name": "张", "population": "-1"},
        {"head_name": "张", "population": "3", "annual_income": "很多"},
        {"head_name": "张", "population": "3", "members": "李秀 妻子 五十"},
        {"head_name": "张", "population": "3", "head_phone": "12ab"},
    ):
        r = c.post(f"/households/{hid}", data)
        assert r.status_code == 400, data
    assert world.count(HouseholdInfoHistory) == 0
    assert world.one(select(Household.head_name).where(Household.id == hid)) == "张大山"


def test_link_change_commitment_and_card_number(world: World) -> None:
    c = world.login("admin")
    hid = world.ids["hh_a"]
    r = c.post(
        f"/households/{hid}/link",
        {"cadre_id": world.ids["cadre_b"], "commitment_signed_on": "2026-11-01", "card_number": "10000009"},
    )
    assert r.status_code == 302
    assert world.one(select(Link.cadre_id).where(Link.household_id == hid)) == world.ids["cadre_b"]
    ch = world.one(select(LinkChange).where(LinkChange.household_id == hid))
    assert (ch.old_cadre_id, ch.new_cadre_id, ch.changed_by) == (
        world.ids["cadre_a"],
        world.ids["cadre_b"],
        "office:admin",
    )
    assert str(world.one(select(Link.commitment_signed_on).where(Link.household_id == hid))) == "2026-11-01"
    assert world.one(select(ServiceCard.number).where(ServiceCard.household_id == hid)) == "10000009"
    assert {a.action for a in world_all(world, select(AuditLog))} >= {
        "link.change",
        "commitment.set",
        "card.number",
    }
    page = text(c.get(f"/households/{hid}"))
    assert "李明 → 王芳" in page
    # a card number already in use is refused
    r = c.post(f"/households/{hid}/link", {"card_number": "20000001"})
    assert r.status_code == 400 and "已被其他农户使用" in text(r)
    # a village user cannot change card numbers (the field is ignored)
    v = world.login("xinqiao")
    v.post(f"/households/{world.ids['hh_a2']}/link", {"card_number": "77777777"})
    assert (
        world.one(select(ServiceCard.number).where(ServiceCard.household_id == world.ids["hh_a2"]))
        == "10000002"
    )


def world_all(w: World, stmt: object) -> list[object]:
    with w.lx.session() as s:
        rows = list(s.scalars(stmt))  # type: ignore[call-overload]
        for r in rows:
            s.expunge(r)
        return rows


def test_household_search_escapes_like_wildcards(world: World) -> None:
    c = world.login("admin")
    assert "张大山" in text(c.get("/households?q=张"))
    page = text(c.get("/households?q=%25"))
    assert "没有找到农户" in page
    page = text(c.get("/households?q=10000001"))  # by card number
    assert "张大山" in page and "赵小河" not in page


# ------------------------------------------------------------------------------------------ cadres


def test_bind_code_slip(world: World) -> None:
    c = world.login("admin")
    r = c.post(f"/cadres/{world.ids['cadre_a']}/bind-code")
    assert r.status_code == 200
    page = text(r)
    import re

    code = re.search(r"绑定 (\d{8})", page).group(1)  # type: ignore[union-attr]
    assert "微信绑定通知单" in page and "李明" in page
    b = world.one(select(BindCode).where(BindCode.code_hash == code_hash(code)))
    assert b.cadre_id == world.ids["cadre_a"] and b.created_by == "console:admin"
    assert world.audits("bind_code.issue")[0].actor == "console:admin"
    assert "有效" in text(c.get(f"/cadres/{world.ids['cadre_a']}"))


def test_cadre_page_calendar_and_search(world: World) -> None:
    c = world.login("admin")
    page = text(c.get(f"/cadres/{world.ids['cadre_a']}"))
    assert 'class="wrote"' in page and "本月记录 1 天" in page and "已绑定" in page
    assert "张大山" in page and "冬季防火入户宣传" in page
    assert "李明" in text(c.get("/cadres?q=村支书")) and "王芳" not in text(c.get("/cadres?q=村支书"))
    assert "王芳" in text(c.get(f"/cadres?village={world.ids['village_b']}"))
    assert text(c.get(f"/cadres/{world.ids['cadre_a']}?month=2026-10")).count('class="wrote"') == 0
    assert c.get(f"/cadres/{world.ids['cadre_a']}?month=bad").status_code == 200


# ------------------------------------------------------------------------------------------ cards


def test_compose_card_publishes_and_queues_pushes(world: World) -> None:
    c = world.login("admin")
    r = c.post(
        "/tasks",
        {
            "title": "核查危房",
            "body": "逐户核查",
            "deadline": "2026-11-30T18:00",
            "scope": "village",
            "villages": ["新桥村"],
            "cards": "10000001",
        },
    )
    assert r.status_code == 302
    t = world.one(select(Task).where(Task.title == "核查危房"))
    assert t.published_at is not None and t.targets == ["village:新桥村"] and t.created_by == "console:admin"
    assert world.count(TaskAssignment, TaskAssignment.task_id == t.id) == 1
    assert (
        world.count(OutboxMessage, OutboxMessage.kind == "task", OutboxMessage.openid == "demo-cadre-01") == 2
    )
    assert world.audits("task.create")[-1].actor == "console:admin"
    page = text(c.get(f"/tasks/{t.number}"))
    assert "李明" in page and "王芳" not in page
    # scheduled publication
    c.post(
        "/tasks",
        {
            "title": "年终总结",
            "body": "",
            "deadline": "2026-12-20T18:00",
            "publish_at": "2026-12-01T08:00",
            "scope": "cadre",
            "phones": "13900000002",
        },
    )
    t2 = world.one(select(Task).where(Task.title == "年终总结"))
    assert t2.published_at is None and t2.publish_at is not None
    assert "定时" in text(c.get("/tasks"))


def test_compose_card_bad_input(world: World) -> None:
    c = world.login("admin")
    before = world.count(Task)
    for data in (
        {"title": "", "deadline": "2026-11-30T18:00", "scope": "all"},
        {"title": "过去", "deadline": "2026-11-01T18:00", "scope": "all"},
        {"title": "x", "deadline": "明天", "scope": "all"},
        {"title": "x", "deadline": "2026-11-30T18:00", "scope": "village"},
        {"title": "x", "deadline": "2026-11-30T18:00", "scope": "cadre", "phones": "13000000000"},
        {"title": "x", "deadline": "2026-11-30T18:00", "scope": "all", "cards": "99999999"},
    ):
        r = c.post("/tasks", data)
        assert r.status_code == 400, data
    assert world.count(Task) == before


def test_return_extension_and_cancel(world: World) -> None:
    from storage import tasks

    n = world.ids["task"]
    with world.lx.session() as s:
        tasks.feedback(s, cadre_id=world.ids["cadre_a"], number=n, text="已入户宣传 30 户", now=world.clock())
    c = world.login("admin")
    page = text(c.get(f"/tasks/{n}/cadres/{world.ids['cadre_a']}"))
    assert "已入户宣传 30 户" in page and "退回重办" in page
    assert c.post(f"/tasks/{n}/cadres/{world.ids['cadre_a']}/return", {"reason": ""}).status_code == 400
    r = c.post(f"/tasks/{n}/cadres/{world.ids['cadre_a']}/return", {"reason": "缺少照片"})
    assert r.status_code == 302
    a = world.one(select(TaskAssignment).where(TaskAssignment.cadre_id == world.ids["cadre_a"]))
    assert a.status == "returned" and a.returned_count == 1
    assert world.count(Feedback, Feedback.kind == "return", Feedback.author == "console:admin") == 1
    # extension granted to a date chosen by the office
    r = c.post(
        f"/tasks/{n}/cadres/{world.ids['cadre_a']}/extension", {"decision": "grant", "until": "2026-12-05"}
    )
    assert r.status_code == 302
    a = world.one(select(TaskAssignment).where(TaskAssignment.cadre_id == world.ids["cadre_a"]))
    assert (
        a.extension_status == "granted"
        and a.deadline.astimezone(world.lx.config.tz).date().isoformat() == "2026-12-05"
    )
    # refusing without a request is refused
    assert (
        c.post(f"/tasks/{n}/cadres/{world.ids['cadre_b']}/extension", {"decision": "refuse"}).status_code
        == 400
    )
    assert c.post(f"/tasks/{n}/cancel").status_code == 302
    assert world.one(select(Task.cancelled_at).where(Task.number == n)) is not None
    assert c.post(f"/tasks/{n}/cancel").status_code == 400
    assert {a.action for a in world_all(world, select(AuditLog))} >= {
        "task.return",
        "task.extension_grant",
        "task.cancel",
    }


def test_feedback_timeline_shows_photos(world: World, tmp_path: object) -> None:
    from pathlib import Path

    from storage import tasks
    from storage.models import Attachment

    n = world.ids["task"]
    with world.lx.session() as s:
        a = tasks.feedback(s, cadre_id=world.ids["cadre_a"], number=n, text="见照片", now=world.clock())
        fb = s.scalar(select(Feedback).where(Feedback.assignment_id == a.id))
        media = Path(world.lx.config.general.media_dir)
        media.mkdir(parents=True, exist_ok=True)
        (media / "p1.jpg").write_bytes(b"\xff\xd8\xff fake jpeg")
        s.add(
            Attachment(
                owner_type="feedback",
                owner_id=fb.id,
                media_type="image",
                stored_path="p1.jpg",
                content_type="image/jpeg",
            )
        )
        s.add(
            Attachment(
                owner_type="feedback", owner_id=fb.id, media_type="image", stored_path="../../etc/passwd"
            )
        )
        s.flush()
        ids = [x.id for x in s.scalars(select(Attachment).order_by(Attachment.id))]
    c = world.login("admin")
    page = text(c.get(f"/tasks/{n}/cadres/{world.ids['cadre_a']}"))
    assert f"/media/{ids[0]}" in page
    r = c.get(f"/media/{ids[0]}")
    assert r.status_code == 200 and r.data.startswith(b"\xff\xd8")
    r.close()
    assert c.get(f"/media/{ids[1]}").status_code == 404  # outside the media folder
    # another village's user cannot fetch it by id
    other = world.login("xinqiao")
    r = other.get(f"/media/{ids[0]}")
    assert r.status_code == 200  # cadre_a is in 新桥村
    r.close()
    with world.lx.session() as s:
        a2 = tasks.feedback(s, cadre_id=world.ids["cadre_b"], number=n, text="石门村", now=world.clock())
        fb2 = s.scalar(select(Feedback).where(Feedback.assignment_id == a2.id))
        att = Attachment(owner_type="feedback", owner_id=fb2.id, media_type="image", stored_path="p1.jpg")
        s.add(att)
        s.flush()
        aid = att.id
    assert other.get(f"/media/{aid}").status_code == 404


# ------------------------------------------------------------------------------------------ requests


def test_office_reply_reaches_the_villager(world: World) -> None:
    c = world.login("admin")
    page = text(c.get("/requests?status=open&sla=late"))
    assert "饮水管冻裂了" in page and "低保怎么申请" not in page
    assert c.post("/requests/1/reply", {"text": "  "}).status_code == 400
    r = c.post("/requests/1/reply", {"text": "已联系水管站，明天上门维修"})
    assert r.status_code == 302
    req = world.one(select(VillagerRequest).where(VillagerRequest.number == 1))
    assert req.status == "answered" and req.first_answer_at is not None
    rep = world.one(select(RequestReply).where(RequestReply.request_id == req.id))
    assert rep.author == "office:admin"
    push = world.one(select(OutboxMessage).where(OutboxMessage.openid == "demo-villager-001"))
    assert push.kind == "reply" and "明天上门维修" in push.payload["text"] and "满意" in push.payload["text"]
    assert world.audits("request.reply")[0].target == "request:1"
    page = text(c.get("/requests/1"))
    assert "明天上门维修" in page and "office:admin" in page


def test_reassign_and_close(world: World) -> None:
    c = world.login("admin")
    r = c.post("/requests/2/reassign", {"cadre_id": world.ids["cadre_a"]})
    assert r.status_code == 302
    assert (
        world.one(select(VillagerRequest.cadre_id).where(VillagerRequest.number == 2)) == world.ids["cadre_a"]
    )
    assert (
        world.count(OutboxMessage, OutboxMessage.kind == "request", OutboxMessage.openid == "demo-cadre-01")
        == 1
    )
    assert c.post("/requests/2/reassign", {"cadre_id": 99999}).status_code == 400
    assert c.post("/requests/2/close").status_code == 302
    req = world.one(select(VillagerRequest).where(VillagerRequest.number == 2))
    assert req.status == "closed" and req.closed_by == "office:admin"
    assert c.post("/requests/2/reply", {"text": "晚了"}).status_code == 400
    assert {a.action for a in world_all(world, select(AuditLog))} >= {"request.reassign", "request.close"}


def test_request_filters(world: World) -> None:
    c = world.login("admin")
    assert "低保怎么申请" in text(c.get("/requests?category=咨询"))
    assert "低保怎么申请" not in text(c.get("/requests?category=求助"))
    assert "低保怎么申请" in text(c.get(f"/requests?village={world.ids['village_b']}"))
    assert "饮水管" in text(c.get("/requests?q=饮水"))
    assert "饮水管" not in text(c.get("/requests?status=closed"))
    v = world.login("xinqiao")
    assert "低保怎么申请" not in text(v.get("/requests"))


# ------------------------------------------------------------------------------------------ diaries, policy


def test_diary_search_is_bound_and_escaped(world: World) -> None:
    c = world.login("admin")
    assert "走访张大山家" in text(c.get("/diaries?q=张大山"))
    assert "走访张大山家" in text(c.get("/diaries?q=100%25"))  # a literal % matches only a literal %
    page = text(c.get("/diaries?q=%25"))
    assert "走访张大山家" in page and "调解钱石头家" not in page
    assert "没有找到日记" in text(c.get("/diaries?q=_"))
    assert "没有找到日记" in text(c.get("/diaries?q=' OR 1=1 --"))
    assert c.get("/diaries?day=2026-13-01").status_code == 400
    v = world.login("xinqiao")
    assert "调解钱石头家" not in text(v.get("/diaries"))


def test_policy_add_edit_delete(world: World) -> None:
    c = world.login("admin")
    r = c.post(
        "/policy",
        {"topic": "办证须知", "title": "残疾人证换领", "body": "带身份证到镇残联。", "keywords": "残疾 换证"},
    )
    assert r.status_code == 302
    e = world.one(select(PolicyEntry).where(PolicyEntry.title == "残疾人证换领"))
    assert e.updated_by == "office:admin"
    assert (
        c.post("/policy", {"topic": "办证须知", "title": "残疾人证换领", "body": "重复"}).status_code == 400
    )
    r = c.post(
        "/policy",
        {
            "id": e.id,
            "topic": "办证须知",
            "new_topic": "残疾人服务",
            "title": "残疾人证换领",
            "body": "带身份证和照片到镇残联。",
        },
    )
    assert world.one(select(PolicyEntry.topic).where(PolicyEntry.id == e.id)) == "残疾人服务"
    assert "残疾人服务" in text(c.get("/policy"))
    assert "带身份证和照片" in text(c.get("/policy?q=残联"))
    assert c.post(f"/policy/{e.id}/delete").status_code == 302
    assert world.count(PolicyEntry, PolicyEntry.id == e.id) == 0
    assert [a.action for a in world.audits("policy.add")] == ["policy.add"]
    assert world.audits("policy.edit") and world.audits("policy.delete")


# ------------------------------------------------------------------------------------------ reports


def test_report_page_and_audited_downloads(world: World) -> None:
    c = world.login("admin")
    page = text(c.get("/reports?kind=month&period=2026-11"))
    assert "干部排名" in page and "李明" in page and "王芳" in page
    assert c.get("/reports?kind=month&period=2026-13").status_code == 400
    r = c.get("/reports/download?kind=month&period=2026-11&format=json")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    data = json.loads(r.data)
    assert data["period"] == "2026-11" and {row["name"] for row in data["cadres"]} == {"李明", "王芳"}
    assert all("****" in row["phone"] for row in data["cadres"])  # the console masks phones
    r = c.get("/reports/download?kind=quarter&period=2026Q4&format=xlsx")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    exports = world.audits("report.export")
    assert [(a.actor, a.target, a.detail["format"]) for a in exports] == [
        ("console:admin", "report:month:2026-11", "json"),
        ("console:admin", "report:quarter:2026Q4", "xlsx"),
    ]
    assert c.get("/reports/download?kind=month&period=2026-11&format=exe").status_code == 400
    v = world.login("xinqiao")
    page = text(v.get("/reports?kind=month&period=2026-11"))
    assert "李明" in page and "王芳" not in page
    assert "13900000001" not in text(c.get("/reports/full?kind=month&period=2026-11"))


def test_ledger_page_and_audited_download(world: World) -> None:
    c = world.login("admin")
    page = text(c.get("/ledger?month=2026-11"))
    assert "五个一台账" in page and "李明" in page and "王芳" in page and "请先选择村(居)" in page
    page = text(c.get("/ledger?month=2026-11&village=石门村"))
    assert "尚有缺项的农户（1）" in page and "钱石头" in page and "张大山" not in page
    r = c.get("/ledger/download?format=json&month=2026-11&village=新桥村")
    assert r.status_code == 200
    data = json.loads(r.data)
    assert [row["name"] for row in data["cadres"]] == ["李明"] and data["cadres"][0]["phone"] == "139****0001"
    r = c.get("/ledger/download?format=xlsx")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    assert [(a.target, a.detail["format"]) for a in world.audits("ledger.export")] == [
        ("ledger:新桥村:2026-11", "json"),
        ("ledger:*:2026-11", "xlsx"),
    ]
    v = world.login("xinqiao")
    page = text(v.get("/ledger"))
    assert "李明" in page and "王芳" not in page


# ------------------------------------------------------------------------------------------ import


CSV_HEADER = "村(居),村民小组,户主姓名,户主电话,家庭人口,服务卡号,联户干部,干部电话,干部岗位,干部单位\n"


def test_import_preview_errors_then_confirm(world: World) -> None:
    c = world.login("admin")
    bad = CSV_HEADER + "新桥村,二组,孙大田,13855556666,三,,李明,13900000001,村支书,新桥村委会\n"
    r = c.post(
        "/import", {"file": (io.BytesIO(bad.encode("utf-8")), "名单.csv")}, content_type="multipart/form-data"
    )
    assert r.status_code == 200
    page = text(r)
    assert "发现" in page and "整个文件未导入" in page and "确认导入" not in page
    before = world.count(Household)
    good = CSV_HEADER + "新桥村,二组,孙大田,13855556666,3,,李明,13900000001,村支书,新桥村委会\n"
    r = c.post(
        "/import",
        {"file": (io.BytesIO(good.encode("gb18030")), "名单.csv")},
        content_type="multipart/form-data",
    )
    page = text(r)
    assert "确认导入" in page and "新增 1" in page
    assert world.count(Household) == before  # preview writes nothing
    r = c.post("/import/confirm")
    assert r.status_code == 302
    assert world.count(Household) == before + 1
    assert world.one(select(Household.head_name).where(Household.head_name == "孙大田")) == "孙大田"
    assert world.audits("import.console")[0].actor == "console:admin"
    # confirming twice does nothing: the upload is gone
    assert c.post("/import/confirm").status_code == 400
    assert (
        c.post(
            "/import", {"file": (io.BytesIO(b"x"), "a.pdf")}, content_type="multipart/form-data"
        ).status_code
        == 400
    )


# ------------------------------------------------------------------------------------------ delivery, audit


def test_delivery_problems_and_retry(world: World) -> None:
    with world.lx.session() as s:
        s.add(
            OutboxMessage(
                idempotency_key="k1",
                openid="demo-villager-002",
                kind="reply",
                payload={"text": "您的诉求已办理"},
                status="failed",
                attempts=5,
                last_error="45015 超出回复时限",
            )
        )
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == "demo-cadre-02"))
        ident.unreachable, ident.unreachable_reason = True, "43004 用户已取消关注"
        s.flush()
        mid = s.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == "k1"))
    c = world.login("admin")
    page = text(c.get("/delivery"))
    assert "43004 用户已取消关注" in page and "王芳" in page and "45015" in page and "钱石头" in page
    assert c.post(f"/delivery/{mid}/retry").status_code == 302
    assert world.one(select(OutboxMessage.status).where(OutboxMessage.id == mid)) == "pending"
    assert c.post(f"/delivery/{mid}/retry").status_code == 400  # no longer failed
    assert world.audits("outbox.retry")[0].actor == "console:admin"


def test_delivery_page_says_why_delivery_is_held_and_resumes(world: World) -> None:
    from reminders import holds

    holds.hold(world.lx, scope="all", errcode=48001, detail="48001 api unauthorized", now=world.lx.now())
    c = world.login("admin")
    page = text(c.get("/delivery"))
    assert "暂停投递" in page and "48001" in page and "微信认证" in page and "lianxin outbox --resume" in page
    assert c.post("/delivery/resume").status_code == 302
    [h] = holds.active(world.lx)
    assert h.next_probe_at <= world.lx.now()
    assert world.audits("outbox.resume")[0].actor == "console:admin"


def test_audit_page_lists_changes(world: World) -> None:
    c = world.login("admin")
    c.post("/requests/1/close")
    page = text(c.get("/audit?action=request.close"))
    assert "request:1" in page and "console:admin" in page
    assert "request:1" not in text(c.get("/audit?action=nothing"))


# ------------------------------------------------------------------------------------------
# The audit page shows a record's details in Chinese (never as \\uXXXX escapes), and escaped.


def test_audit_details_show_chinese_and_stay_escaped(world: World) -> None:
    with world.lx.session() as s:
        record(
            s,
            actor="cli",
            action="qa.check",
            target="user:x",
            detail={"village": "新桥村", "note": "<b>x</b>"},
        )
    page = world.login("admin").get("/audit?action=qa.check").get_data(as_text=True)
    assert "新桥村" in page and "\\u65b0" not in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
