"""Configuration: the example documents every key, and every kind of mistake stops with a clear message."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from storage.config import SCHEMA, ConfigError, defaults, load_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_example_documents_every_key_and_loads():
    cfg = load_config(EXAMPLE, env={})
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    text = EXAMPLE.read_text(encoding="utf-8")
    for section, keys in SCHEMA.items():
        node = raw
        for part in section.split("."):
            assert part in node, f"config.example.toml has no [{section}]"
            node = node[part]
        for key in keys:
            assert key in node, f"config.example.toml does not set [{section}] {key}"
            # each key has a comment above it, in Chinese and English
            lines = text.splitlines()
            i = next(
                n
                for n, line in enumerate(lines)
                if line.startswith(f"{key} =") and n > text[: text.index(f"[{section}]")].count("\n")
            )
            comment = " ".join(line for line in lines[max(0, i - 3) : i] if line.startswith("#"))
            assert any("\u4e00" <= ch <= "\u9fff" for ch in comment), f"[{section}] {key}: no Chinese comment"
            assert any(ch.isascii() and ch.isalpha() for ch in comment), (
                f"[{section}] {key}: no English comment"
            )
    # the example shows the defaults, so copying it changes nothing
    assert cfg.data == defaults()


def test_defaults_without_any_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIANXIN_CONFIG", raising=False)
    cfg = load_config(env={})
    assert cfg.database_url == "sqlite:///lianxin.db"
    assert cfg.source == "built-in defaults"
    assert str(cfg.tz) == "Asia/Shanghai"


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml does not exist"):
        load_config(tmp_path / "nope.toml", env={})


def test_bad_toml_names_file_and_line(tmp_path):
    p = write(tmp_path, '[general]\ntimezone = "Asia/Shanghai"\ntownship = 示范镇\n')
    with pytest.raises(ConfigError) as e:
        load_config(p, env={})
    assert str(p) in str(e.value)
    assert "line 3" in str(e.value)


def test_unknown_section_is_named(tmp_path):
    p = write(tmp_path, "[genral]\ntimezone = 'UTC'\n")
    with pytest.raises(ConfigError, match=r"unknown section \[genral\]") as e:
        load_config(p, env={})
    assert str(p) in str(e.value)


def test_unknown_key_is_named_with_the_known_ones(tmp_path):
    p = write(tmp_path, "[wechat]\ntokn = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown key 'tokn' in \[wechat\]") as e:
        load_config(p, env={})
    assert "token" in str(e.value) and str(p) in str(e.value)


def test_push_api_subscribe_was_removed_and_the_error_says_why(tmp_path):
    """订阅通知 need each user's subscription through a page component (else 43101): a switch that failed every
    push is gone, and a config that still turns it on stops start-up saying so."""
    p = write(tmp_path, '[wechat]\npush_api = "subscribe"\n')
    with pytest.raises(ConfigError) as e:
        load_config(p, env={})
    message = str(e.value)
    assert str(p) in message and "push_api" in message and "removed" in message
    assert "43101" in message and "订阅" in message
    # the value that changes nothing (an old copy of config.example.toml) still starts
    assert not hasattr(
        load_config(write(tmp_path, '[wechat]\npush_api = "template"\n'), env={}).wechat, "push_api"
    )


def test_the_cli_refuses_a_config_with_push_api_subscribe(tmp_path):
    from click.testing import CliRunner

    from bot.cli import main

    p = write(tmp_path, '[wechat]\npush_api = "subscribe"\n')
    result = CliRunner().invoke(main, ["init", "--config", str(p)])
    assert result.exit_code != 0 and "43101" in result.output


def test_unknown_nested_section(tmp_path):
    p = write(tmp_path, "[wechat.templatez]\ntask = 'x'\n")
    with pytest.raises(ConfigError, match=r"wechat\.templatez"):
        load_config(p, env={})


@pytest.mark.parametrize(
    "line, expected",
    [
        ("[sla]\nfirst_answer_hours = 'soon'", r"\[sla\] first_answer_hours must be an integer, got 'soon'"),
        ("[database]\necho = 'yes'", r"\[database\] echo must be true/false"),
        ("[sla]\nfirst_answer_hours = true", r"must be an integer"),
        ("[scheduler]\noffice_openids = 'o1'", r"must be a list"),
        ("[score]\ndiary = 'forty'", r"must be a number"),
    ],
)
def test_ill_typed_value_names_key_and_expected_type(tmp_path, line, expected):
    p = write(tmp_path, line + "\n")
    with pytest.raises(ConfigError, match=expected):
        load_config(p, env={})


def test_integer_accepted_where_a_number_is_expected(tmp_path):
    p = write(tmp_path, "[score]\ndiary = 50\n")
    assert load_config(p, env={}).score.diary == 50.0


def test_bad_timezone(tmp_path):
    p = write(tmp_path, "[general]\ntimezone = 'Mars/Olympus'\n")
    with pytest.raises(ConfigError, match=r"timezone 'Mars/Olympus' is not a known time zone"):
        load_config(p, env={})


def test_bad_aes_key_length(tmp_path):
    p = write(tmp_path, "[wechat]\nencoding_aes_key = 'abc'\n")
    with pytest.raises(ConfigError, match=r"encoding_aes_key must be 43 characters \(it is 3\)"):
        load_config(p, env={})
    ok = write(tmp_path, f"[wechat]\nencoding_aes_key = '{'a' * 43}'\n", "ok.toml")
    assert load_config(ok, env={}).safe_mode


def test_key_outside_a_section(tmp_path):
    p = write(tmp_path, "timezone = 'UTC'\n")
    with pytest.raises(ConfigError, match=r"must be inside a section"):
        load_config(p, env={})


def test_env_database_url_overrides_the_file(tmp_path):
    p = write(tmp_path, "[database]\nurl = 'sqlite:///from-file.db'\n")
    assert load_config(p, env={}).database_url == "sqlite:///from-file.db"
    cfg = load_config(p, env={"LIANXIN_DATABASE_URL": "sqlite:///from-env.db"})
    assert cfg.database_url == "sqlite:///from-env.db"
    # test overrides come last
    cfg = load_config(
        p,
        env={"LIANXIN_DATABASE_URL": "sqlite:///from-env.db"},
        overrides={"database.url": "sqlite:///override.db"},
    )
    assert cfg.database_url == "sqlite:///override.db"


def test_lookup_order_explicit_then_env_then_cwd(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    write(cwd, "[general]\ntownship = '当前目录镇'\n")
    env_file = write(tmp_path, "[general]\ntownship = '环境变量镇'\n", "env.toml")
    explicit = write(tmp_path, "[general]\ntownship = '命令行镇'\n", "explicit.toml")
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("LIANXIN_CONFIG", raising=False)
    assert load_config(env={}).general.township == "当前目录镇"
    monkeypatch.setenv("LIANXIN_CONFIG", str(env_file))
    assert load_config(env={}).general.township == "环境变量镇"
    assert load_config(explicit, env={}).general.township == "命令行镇"
    monkeypatch.setenv("LIANXIN_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match=r"gone\.toml \(from \$LIANXIN_CONFIG\) does not exist"):
        load_config(env={})


def test_cli_reports_configuration_errors(tmp_path):
    from click.testing import CliRunner

    from bot.cli import main

    p = write(tmp_path, "[general]\ntimezone = 'Nowhere/Else'\n")
    result = CliRunner().invoke(main, ["init", "--config", str(p)])
    assert result.exit_code != 0
    assert "Nowhere/Else" in result.output and "配置错误" in result.output


def test_template_tables_map_keys_to_named_values(tmp_path):
    p = write(
        tmp_path,
        '[wechat.templates.request]\nid = "TPL_R"\n'
        'fields = { thing1 = "household", character_string2 = "number", time3 = "time" }\n',
    )
    cfg = load_config(p, env={})
    assert cfg.templates["request"] == {
        "id": "TPL_R",
        "fields": {"thing1": "household", "character_string2": "number", "time3": "time"},
    }
    # the other kinds keep their defaults
    assert cfg.templates["task"].id == ""


def test_template_field_naming_an_unknown_value_stops_start_up(tmp_path):
    p = write(tmp_path, '[wechat.templates.task]\nid = "T"\nfields = { thing1 = "titel" }\n')
    with pytest.raises(
        ConfigError,
        match=r"\[wechat\.templates\.task\] fields: key 'thing1' maps to unknown value "
        r"'titel'.*number, title, deadline, office",
    ) as e:
        load_config(p, env={})
    assert str(p) in str(e.value)


@pytest.mark.parametrize("key", ["keyword1", "first", "remark", "things1", "thing"])
def test_template_key_without_a_known_type_prefix_stops_start_up(tmp_path, key):
    p = write(tmp_path, f'[wechat.templates.notice]\nid = "T"\nfields = {{ {key} = "title" }}\n')
    with pytest.raises(
        ConfigError, match=rf"\[wechat\.templates\.notice\] fields: key '{key}' has no known type"
    ):
        load_config(p, env={})


def test_unknown_template_kind_is_named(tmp_path):
    p = write(tmp_path, '[wechat.templates.voice]\nid = "T"\n')
    with pytest.raises(ConfigError, match=r"wechat\.templates\.voice"):
        load_config(p, env={})


def test_public_url_is_read_from_wechat_and_still_from_its_older_general_place(tmp_path):
    """PRODUCT.md puts public_url in [wechat]; a config written for [general] keeps working."""
    new = tmp_path / "new.toml"
    new.write_text('[wechat]\npublic_url = "https://lx.example.cn/"\n', encoding="utf-8")
    assert load_config(new).public_url == "https://lx.example.cn"
    old = tmp_path / "old.toml"
    old.write_text('[general]\npublic_url = "https://old.example.cn"\n', encoding="utf-8")
    assert load_config(old).public_url == "https://old.example.cn"
    assert load_config(None).public_url == "http://127.0.0.1:8000"
