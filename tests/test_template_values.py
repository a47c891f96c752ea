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
