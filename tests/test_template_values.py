"""Template messages as WeChat displays them since 2023: keyword fields only, one line, cut to the key's type."""

from __future__ import annotations

from reminders.template_values import LIMITS, fit, template_data, values_of


def test_thing_is_cut_to_twenty_characters_on_one_line():
    shown = fit("thing", "村口路灯坏了\n晚上看不见路，老人孩子出门很不方便，请尽快修理")
    assert "\n" not in shown
    assert len(shown) == LIMITS["thing"] == 20
    assert shown.startswith("村口路灯坏了 晚上看不见路") and shown.endswith("…")


def test_character_string_keeps_no_chinese_and_time_reads_as_a_date():
    assert fit("character_string", "第12号") == "12"
    assert fit("time", "2026-11-30 18:00") == "2026年11月30日 18:00"
    assert fit("phrase", "求助求助求助") == "求助求助求"
    assert fit("name", "欧阳娜娜娜娜娜娜娜娜娜") == "欧阳娜娜娜娜娜娜娜…"


def test_named_values_go_to_the_configured_keys_and_first_and_remark_are_never_sent():
    fields = {"character_string1": "number", "thing2": "household", "thing4": "text", "time5": "time"}
    data = template_data(
        fields,
        {
            "number": "37",
            "household": "张三",
            "text": "屋顶漏雨，请来看看",
            "time": "2026年12月1日 09:30",
            "category": "求助",
        },
    )
    assert data == {
        "character_string1": {"value": "37"},
        "thing2": {"value": "张三"},
        "thing4": {"value": "屋顶漏雨，请来看看"},
        "time5": {"value": "2026年12月1日 09:30"},
    }
    assert "first" not in data and "remark" not in data


def test_a_push_without_values_shows_its_first_line_as_title_and_the_rest_as_text():
    values = values_of("notice", {"text": "【通知】月报已发布\n请登录控制台查看", "template": None})
    assert values["title"] == "【通知】月报已发布" and values["text"] == "请登录控制台查看"


# ------------------------------------------------------------------ every key type, values fitted to it (#22 item 12)

import pytest  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from storage.config import ConfigError, load_config  # noqa: E402
from tests.fake_wechat import FakeWechat, value_breaks_rule  # noqa: E402

NASTY = [
    "",
    "   ",
    "第12号",
    "张三",
    "求助A",
    "村口路灯坏了\n晚上看不见路，老人孩子出门很不方便，请尽快修理",
    "2026-11-30 18:00",
    "2026-11-30T18:00:00+08:00",
    "2026年12月5日",
    "明天下午",
    "abc DEF 123",
    "¥12.50元",
    "+86-0766-66888866",
    "😀😀😀",
]
TYPES = (
    "thing",
    "short_thing",
    "character_string",
    "number",
    "letter",
    "symbol",
    "phrase",
    "name",
    "time",
    "date",
    "const",
    "enum",
    "phone_number",
)


@pytest.mark.parametrize("key_type", TYPES)
def test_every_value_fitted_to_its_type_is_one_the_platform_takes(key_type):
    for raw in NASTY:
        shown = fit(key_type, raw, default_time="2026年11月24日 10:00")
        assert shown, (key_type, raw)  # never empty: WeChat refuses an empty value (47003)
        assert not value_breaks_rule(f"{key_type}1", shown), (key_type, raw, shown)


def test_phrase_is_pure_han_within_five_and_character_string_is_never_empty():
    assert fit("phrase", "求助A求助求助") == "求助求助求"
    assert fit("phrase", "OK") == "见详情"
    assert fit("character_string", "张三") == "-"
    assert fit("character_string", "No. 12 号") == "No.12"
    assert fit("date", "2026-12-05 18:00") == "2026年12月5日"
    assert fit("time", "2026-12-05") == "2026年12月5日 23:59"
    assert fit("time", "下周", default_time="2026年11月24日 10:00") == "2026年11月24日 10:00"
    assert fit("short_thing", "冬季防火宣传") == "冬季防火…"


def test_date_const_enum_and_short_thing_keys_can_be_configured_with_a_fixed_text():
    cfg = load_config(
        overrides={
            "wechat.templates.request.fields": {
                "character_string1": "number",
                "short_thing2": "household",
                "date3": "time",
                "const4": "=已受理",
                "enum5": "=待处理",
            }
        },
        env={},
    )
    data = template_data(
        cfg.templates["request"].fields,
        {"number": "37", "household": "张大山家庭", "time": "2026年12月1日 09:30"},
    )
    assert data == {
        "character_string1": {"value": "37"},
        "short_thing2": {"value": "张大山家庭"},
        "date3": {"value": "2026年12月1日"},
        "const4": {"value": "已受理"},
        "enum5": {"value": "待处理"},
    }
    with pytest.raises(ConfigError, match="fixed text"):
        load_config(overrides={"wechat.templates.request.fields": {"const4": "="}}, env={})
    with pytest.raises(ConfigError, match="no known type"):
        load_config(overrides={"wechat.templates.request.fields": {"color4": "text"}}, env={})


# ------------------------------------------------------------------ a template fault holds its kind (#22 item 12)

TEMPLATES = {
    f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in ("task", "reminder", "request", "reply", "notice")
}


def _queue_tasks(lx, n):
    from storage.outbox import enqueue
    from tests.support.factories import Factory

    with lx.session() as s:
        f = Factory(s)
        for i in range(n):
            ident = f.identity(cadre=f.cadre())
            ident.window_until = None
            enqueue(
                s,
                openid=ident.openid,
                kind="task",
                text=f"第{i}号督办",
                key=f"task:{i}",
                template={
                    "number": str(i),
                    "title": f"第{i}号督办",
                    "deadline": "2026-12-05 18:00",
                    "office": "示范镇",
                },
            )


def _counts(lx):
    from storage.models import OutboxMessage

    with lx.sessions() as s:
        return dict(
            s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
        )


@pytest.mark.parametrize(
    ("fault", "says"),
    [("mapping", "47003"), ("banned", "43116"), ("api_banned", "48004")],
)
def test_a_mapping_error_or_a_banned_template_holds_the_kind_instead_of_failing_each_push(
    make_lx, clock, fault, says
):
    from reminders import holds
    from reminders.delivery import dispatch_outbox

    with FakeWechat(clock=lambda: clock().timestamp()) as fake:
        fields = {"character_string1": "number", "thing2": "title", "time3": "deadline", "thing9": "office"}
        lx = make_lx(
            **{
                "wechat.api_base": fake.url,
                **TEMPLATES,
                **({"wechat.templates.task.fields": fields} if fault == "mapping" else {}),
            }
        )
        if fault == "banned":
            fake.banned_templates.add("TPL_TASK")
        if fault == "api_banned":
            fake.refuse("template", 48004)
        _queue_tasks(lx, 20)
        r = dispatch_outbox(lx)
        assert r.failed == 0 and r.held == ["task"]
        assert _counts(lx) == {"pending": 20}
        assert len([c for c in fake.calls if c[0] == "template"]) == 1  # one push met it; none failed
        [hold] = holds.active(lx)
        why, todo = holds.describe(hold)
        assert says in why and "lianxin outbox --resume" in todo
        if fault == "mapping":
            assert "thing9" in why  # WeChat names the key
            fake.templates["TPL_TASK"] += "\n单位:{{thing9.DATA}}"  # the office fixes the template mapping
        fake.banned_templates.clear()
        fake.cure()
        holds.resume_now(lx, clock())
        assert dispatch_outbox(lx).sent == 20 and _counts(lx) == {"sent": 20}
