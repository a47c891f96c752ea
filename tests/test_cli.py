"""The command line through click's runner, on the test database (``LIANXIN_DATABASE_URL`` in the env)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import create_engine, select, text

from bot.cli import main
from console.documents import printing
from storage.accounts import code_hash, verify_password
from storage.migrate import head_revision
from storage.models import AuditLog, BindCode, Cadre, ConsoleUser, Household, Township
from storage.secrets import stored_secret_key
from tests.support.chat_env import make_chat
from tests.support.factories import Factory
from tests.support.link_lists import GOOD
from tests.support.queries import count_rows as count


@pytest.fixture
def cli(lx, tmp_path, monkeypatch):
    """invoke(*args, input=None) → Result, on the lx fixture's database, from an empty working folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIANXIN_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        return runner.invoke(
            main, list(args), input=input, env={"LIANXIN_DATABASE_URL": lx.config.database_url, **(env or {})}
        )

    return invoke


def test_init_creates_then_reports_up_to_date(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    runner = CliRunner()
    first = runner.invoke(main, ["init"], env={"LIANXIN_DATABASE_URL": url})
    assert first.exit_code == 0, first.output
    assert _revision(url) == head_revision() and head_revision() in first.output
    second = runner.invoke(main, ["init"], env={"LIANXIN_DATABASE_URL": url})
    assert second.exit_code == 0 and _revision(url) == head_revision()


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()


def test_init_on_the_test_database_is_up_to_date(cli, lx):
    result = cli("init")
    assert result.exit_code == 0, result.output
    assert _revision(lx.config.database_url) == head_revision() and head_revision() in result.output


def test_config_option_points_at_a_file(lx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"[database]\nurl = '{lx.config.database_url}'\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["import", "--config", str(cfg), str(GOOD)], env={"LIANXIN_DATABASE_URL": ""}
    )
    assert result.exit_code == 0, result.output
    assert count(lx, Household) == 35


def test_commands_refuse_an_uninitialised_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["import", str(GOOD)], env={"LIANXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    )
    assert result.exit_code != 0 and "lianxin init" in result.output


# --------------------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------------------


def test_import_good_file_then_again_unchanged(cli, lx):
    """The summary and the warning are what the operator reads after an import: their words are pinned."""
    first = cli("import", str(GOOD))
    assert first.exit_code == 0, first.output
    assert "农户：35 户（新增 35，更新 0，未变 0）" in first.stdout
    assert "警告：干部 赵丽（08716543210）联系 5 户，少于 30 户" in first.stdout
    assert "李明" not in first.stdout  # 30 households: no warning
    assert count(lx, Household) == 35
    second = cli("import", str(GOOD))
    assert second.exit_code == 0
    assert "农户：35 户（新增 0，更新 0，未变 35）" in second.stdout
    assert "全部未变" in second.stdout
    assert count(lx, Household) == 35
    assert count(lx, AuditLog, AuditLog.action == "import", AuditLog.actor == "cli") == 2


def test_import_bad_file_is_refused_with_row_and_column(cli, lx, tmp_path):
    """What the operator must fix, by row and column: the words are the behaviour."""
    lines = GOOD.read_text(encoding="utf-8-sig").splitlines()
    lines[4] = lines[4].replace(",13922980583,", ",1392298,")  # row 5: head's phone too short
    lines[9] = lines[9].replace(",李明,", ",李铭,")  # row 10: same cadre phone, other name
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="gbk")
    result = cli("import", str(bad))
    assert result.exit_code == 1
    assert "2 处问题，未导入任何数据" in result.stderr
    assert "第 5 行 [户主电话]" in result.stderr and "1392298" in result.stderr
    assert "第 10 行 [联户干部]" in result.stderr
    assert count(lx, Household) == 0 and count(lx, Cadre) == 0 and count(lx, AuditLog) == 0


def test_import_missing_file_and_usage(cli):
    assert "找不到文件" in cli("import", "nope.csv").output
    assert cli("import").exit_code == 2


def test_import_template(cli, tmp_path):
    result = cli("import", "--template", str(tmp_path / "模板"))
    assert result.exit_code == 0, result.output
    ws = load_workbook(tmp_path / "模板.xlsx").active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0][:3] == ["村(居)", "村民小组", "户主姓名"] and len(rows) == 2


def test_import_shows_progress_on_stderr(cli, monkeypatch):
    import storage.importer

    monkeypatch.setattr(storage.importer.shape, "PROGRESS_EVERY", 10)
    result = cli("import", str(GOOD))
    assert result.exit_code == 0
    assert "已读取 10 行" in result.stderr and "已校验 30 / 35 行" in result.stderr
    assert "已读取" not in result.stdout


# --------------------------------------------------------------------------------------------------
# bind-code
# --------------------------------------------------------------------------------------------------


def test_bind_code_last_line_hashed_single_use_and_expiring(make_lx, clock, cli, renders):
    chat = make_chat(make_lx, clock)
    with chat.factory() as f:
        f.cadre(name="李明", phone="13987654321")
    result = cli("bind-code", "139 8765 4321")
    assert result.exit_code == 0, result.output
    code = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d{8}", code)
    assert "李明" in result.stdout
    with chat.lx.session() as s:
        row = s.scalars(select(BindCode)).one()
        # only an HMAC under the deployment's secret is stored (not a plain hash), and the code lives 72 hours
        assert row.code_hash == code_hash(stored_secret_key(s), code) and code not in row.code_hash
        assert row.code_hash != hashlib.sha256(code.encode()).hexdigest()
        assert row.expires_at - row.created_at == timedelta(hours=72)
        expires = row.expires_at
    clock.set(expires - timedelta(minutes=1))
    assert renders.behind(chat.wc.text("o-li", f"绑定 {code}")).name == "bind_ok"
    assert renders.behind(chat.wc.text("o-other", f"绑定 {code}")).name == "bind_used"
    # a second code, used only after its 72 hours
    code2 = cli("bind-code", "13987654321").stdout.strip().splitlines()[-1]
    assert code2 != code
    with chat.lx.session() as s:
        expires2 = s.scalar(select(BindCode.expires_at).where(BindCode.used_at.is_(None)))
    clock.set(expires2 + timedelta(minutes=1))
    assert renders.behind(chat.wc.text("o-late", f"绑定 {code2}")).name == "bind_expired"


def test_bind_code_for_unknown_phone(cli):
    result = cli("bind-code", "13900000000")
    assert result.exit_code == 1 and "没有电话为 13900000000 的干部" in result.output


# --------------------------------------------------------------------------------------------------
# user add
# --------------------------------------------------------------------------------------------------


def test_user_add_reads_password_from_stdin(cli, lx):
    result = cli("user", "add", "office1", "--role", "admin", input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    with lx.session() as s:
        user = s.scalars(select(ConsoleUser)).one()
        assert user.role == "admin" and user.password_hash != "s3cret-pass"
        assert user.password_hash.startswith("$argon2")
        assert verify_password(user.password_hash, "s3cret-pass")
    assert count(lx, AuditLog, AuditLog.action == "user.add") == 1


def test_user_add_village_account_and_errors(cli, lx):
    with lx.session() as s:
        Factory(s).village("新桥村")
    ok = cli("user", "add", "xinqiao", "--role", "village", "--village", "新桥村", input="village-pass\n")
    assert ok.exit_code == 0, ok.output
    assert "已存在" in cli("user", "add", "xinqiao", "--role", "viewer", input="another-pass\n").output
    assert "至少 8 位" in cli("user", "add", "short", "--role", "viewer", input="abc\n").output
    assert (
        "没有名为 无此村 的村"
        in cli("user", "add", "v2", "--role", "village", "--village", "无此村", input="village-pass\n").output
    )
    assert cli("user", "add", "x", "--role", "boss", input="whatever1\n").exit_code == 2
    assert count(lx, ConsoleUser) == 1


# ------------------------------------------------------------------------------------------
# User mistakes on the command line: each gets one clear line, never a traceback.


def _clear(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for w in words:
        assert w in result.output, result.output


@pytest.mark.parametrize(
    "args",
    [
        ("report", "month", "2026-11", "--out", "{missing}/r.html"),
        ("report", "month", "2026-11", "--format", "xlsx", "--out", "{missing}/r.xlsx"),
        ("ledger", "--format", "xlsx", "--out", "{missing}/l.xlsx"),
        ("cards", "--out", "{missing}/c.html"),
        ("listing", "--out", "{missing}/l.html"),
        ("import", "--template", "{missing}/t.xlsx"),
    ],
)
def test_out_into_a_missing_folder_is_one_clear_line(cli, session, tmp_path, args):
    f = Factory(session)
    f.household(f.cadre())
    session.commit()
    missing = tmp_path / "no-such-folder"
    result = cli(*[a.format(missing=missing) for a in args])
    _clear(result, "所在文件夹不存在", str(missing))


def test_pdf_into_a_missing_folder_names_the_folder_not_chromium_logs(tmp_path, monkeypatch):
    monkeypatch.setattr(printing, "find_chromium", lambda: "/bin/false")
    with pytest.raises(printing.PrintError, match="所在文件夹不存在"):
        printing.html_to_pdf("<p>x</p>", tmp_path / "no-such-folder" / "c.pdf")


@pytest.mark.parametrize("url", ["not a url", "mysql://u:p@127.0.0.1/x", "nosuchdb://x"])
def test_an_unusable_database_url_is_a_configuration_error(cli, url):
    result = cli("outbox", env={"LIANXIN_DATABASE_URL": url})
    _clear(result, "配置错误", "[database] url")


def test_print_summary_reads_as_chinese(cli, session, tmp_path):
    f = Factory(session)
    f.household(f.cadre())
    session.commit()
    result = cli("cards", "--out", str(tmp_path / "c.html"))
    assert result.exit_code == 0, result.output
    assert "已生成 1 张服务卡（1 页）" in result.output  # was "已生成1 张服务卡"


def test_init_output_is_not_buried_in_alembic_log_lines(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "LIANXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    env.pop("LIANXIN_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "init"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert head_revision() in proc.stdout  # the line that says what init did is on stdout
    assert "alembic" not in proc.stderr, proc.stderr


def test_import_in_a_county_needs_a_township_unless_the_list_names_them(cli, lx, tmp_path):
    from tests.support.link_lists import COUNTY_HEADER, county_rows, to_csv

    county = tmp_path / "全县.csv"
    county.write_bytes(to_csv(county_rows(), header=COUNTY_HEADER))
    first = cli("import", str(county))
    assert first.exit_code == 0, first.output
    assert "乡镇：2 个（龙伏镇、青山镇）" in first.stdout and "农户：70 户（新增 70" in first.stdout
    refused = cli("import", str(GOOD))  # no 乡镇 column, no --township, two townships
    assert refused.exit_code != 0 and "请用 --township 指明：龙伏镇、青山镇" in refused.output
    unknown = cli("import", "--township", "白云镇", str(GOOD))
    assert (
        unknown.exit_code != 0
        and "没有名为「白云镇」的乡镇；本系统的乡镇有：龙伏镇、青山镇" in unknown.output
    )
    again = cli("import", "--township", "龙伏镇", str(GOOD))
    assert again.exit_code == 0, again.output
    assert "农户：35 户（新增 0，更新 0，未变 35）" in again.stdout
    assert count(lx, Household) == 70


@pytest.fixture
def county_cli(cli, tmp_path):
    from tests.support.link_lists import COUNTY_HEADER, county_rows, to_csv

    county = tmp_path / "全县.csv"
    county.write_bytes(to_csv(county_rows(), header=COUNTY_HEADER))
    assert cli("import", str(county)).exit_code == 0
    return cli


def test_report_in_a_county_needs_a_township_or_county(county_cli, lx):
    import json

    refused = county_cli("report", "month", "2026-11")
    assert refused.exit_code != 0 and "请用 --township 指明：龙伏镇、青山镇" in refused.output
    one = county_cli("report", "month", "2026-11", "--township", "青山镇")
    assert one.exit_code == 0, one.output
    cadres = json.loads(one.stdout)["cadres"]
    assert (
        cadres
        and {c["township"] for c in cadres} == {"青山镇"}
        and all(c["phone"].startswith("137") for c in cadres)
    )
    county = county_cli("report", "month", "2026-11", "--county")
    assert county.exit_code == 0, county.output
    data = json.loads(county.stdout)
    assert {t["name"] for t in data["townships"]} == {"龙伏镇", "青山镇"}
    assert all(t["cadres"] == 2 and t["households"] == 35 for t in data["townships"])
    assert len(data["cadres"]) == 4 and {"rank", "township_rank", "township"} <= set(data["cadres"][0])
    assert county_cli("report", "month", "2026-11", "--county", "--township", "青山镇").exit_code != 0


def test_task_create_reaches_a_township_or_the_whole_county(county_cli, lx):
    from storage.models import Task, TaskAssignment

    def assigned(number: str) -> set[str]:
        with lx.session() as s:
            task = s.scalar(select(Task).where(Task.number == int(number)))
            return {
                a.cadre.phone[:3]
                for a in s.scalars(select(TaskAssignment).where(TaskAssignment.task_id == task.id))
            }

    one = county_cli(
        "task", "create", "--title", "青山镇防汛", "--deadline", "2030-01-01", "--to", "township:青山镇"
    )
    assert one.exit_code == 0, one.output
    assert assigned(one.stdout.strip().splitlines()[-1]) == {"137"}
    every = county_cli("task", "create", "--title", "全县防火", "--deadline", "2030-01-01", "--to", "all")
    assert every.exit_code == 0, every.output
    assert assigned(every.stdout.strip().splitlines()[-1]) == {"137", "139", "087"}
    own = county_cli(
        "task", "create", "--title", "龙伏镇自查", "--deadline", "2030-01-01", "--township", "龙伏镇"
    )
    assert own.exit_code == 0 and assigned(own.stdout.strip().splitlines()[-1]) == {"139", "087"}
    across = county_cli(
        "task",
        "create",
        "--title",
        "越权",
        "--deadline",
        "2030-01-01",
        "--township",
        "龙伏镇",
        "--to",
        "township:青山镇",
    )
    assert across.exit_code != 0 and "不归本乡镇办公室管" in across.output
    twice = county_cli(
        "task", "create", "--title", "重名村", "--deadline", "2030-01-01", "--to", "village:新桥村"
    )
    assert twice.exit_code != 0 and "在多个乡镇都有" in twice.output


def test_user_add_in_a_county(county_cli, lx):
    refused = county_cli("user", "add", "镇管理员", "--role", "admin", input="password-123\n")
    assert refused.exit_code != 0 and "龙伏镇、青山镇" in refused.output
    ok = county_cli(
        "user", "add", "镇管理员", "--role", "admin", "--township", "青山镇", input="password-123\n"
    )
    assert ok.exit_code == 0, ok.output
    village = county_cli(
        "user",
        "add",
        "村书记",
        "--role",
        "village",
        "--township",
        "青山镇",
        "--village",
        "新桥村",
        input="password-123\n",
    )
    assert village.exit_code == 0, village.output
    boss = county_cli("user", "add", "县管理员", "--role", "county-admin", input="password-123\n")
    assert boss.exit_code == 0, boss.output
    assert (
        county_cli(
            "user", "add", "县领导", "--role", "county-viewer", "--township", "青山镇", input="password-123\n"
        ).exit_code
        != 0
    )
    with lx.session() as s:
        users = {u.username: u for u in s.scalars(select(ConsoleUser))}
        t2 = s.scalar(select(Township.id).where(Township.name == "青山镇"))
        assert users["镇管理员"].township_id == t2 and users["村书记"].township_id == t2
        assert users["村书记"].village.township_id == t2 and users["县管理员"].township_id is None


def test_leave_and_records_in_a_county(county_cli, lx):
    refused = county_cli("leave", "list", "--month", "2026-11")
    assert refused.exit_code != 0 and "龙伏镇、青山镇" in refused.output
    wrong = county_cli(
        "leave", "add", "13987654321", "--from", "2026-11-25", "--to", "2026-11-26", "--township", "青山镇"
    )
    assert wrong.exit_code != 0 and "不属于青山镇" in wrong.output
    ok = county_cli(
        "leave", "add", "13987654321", "--from", "2026-11-25", "--to", "2026-11-26"
    )  # a phone is enough
    assert ok.exit_code == 0, ok.output
    mine = county_cli("leave", "list", "--month", "2026-11", "--township", "龙伏镇")
    theirs = county_cli("leave", "list", "--month", "2026-11", "--township", "青山镇")
    rows = {
        name: [line for line in r.stdout.splitlines()[1:] if "\t" in line]
        for name, r in (("mine", mine), ("theirs", theirs))
    }
    assert [line.split("\t")[2] for line in rows["mine"]] == ["13987654321"] and rows["theirs"] == []
    card = county_cli("record", "request", "00100001", "--text", "路灯坏了", "--township", "青山镇")
    assert card.exit_code != 0 and "不属于青山镇" in card.output


def test_the_office_month_commands_take_a_township_in_a_county(county_cli, lx, tmp_path):
    """Village names repeat across the county: the diary book and the 点评 of a village name their township;
    a cadre's phone needs none, and a --township that is not theirs is refused; the 表彰 list is per township."""
    with lx.session() as s:
        village = s.scalars(select(Cadre.village_id)).first()
        from storage.models import Village

        name = s.get(Village, village).name
        qingshan = s.scalar(select(Cadre).where(Cadre.phone.like("137%")))
        longfu = s.scalar(select(Cadre).where(Cadre.phone.notlike("137%")))
        q_phone, l_phone = qingshan.phone, longfu.phone
    out = str(tmp_path / "book.html")
    refused = county_cli("diary-book", "--village", name, "--month", "2026-11", "--out", out)
    assert refused.exit_code != 0 and "龙伏镇、青山镇" in refused.output
    ok = county_cli(
        "diary-book", "--village", name, "--township", "青山镇", "--month", "2026-11", "--out", out
    )
    assert ok.exit_code == 0, ok.output
    assert county_cli("diary-book", "--cadre", q_phone, "--month", "2026-11", "--out", out).exit_code == 0
    wrong = county_cli(
        "diary-book", "--cadre", q_phone, "--township", "龙伏镇", "--month", "2026-11", "--out", out
    )
    assert wrong.exit_code != 0 and "不属于龙伏镇" in wrong.output
    assert county_cli("report", "comment", "2026Q4", "--village", name, "--text", "好").exit_code != 0
    said = county_cli(
        "report", "comment", "2026Q4", "--village", name, "--township", "龙伏镇", "--text", "走访扎实"
    )
    assert said.exit_code == 0, said.output
    assert county_cli("report", "commend", "2026", q_phone, "--reason", "调解有功").exit_code == 0
    assert county_cli("report", "commend", "2026", l_phone, "--reason", "走访有功").exit_code == 0
    listed = county_cli("report", "commended", "2026", "--township", "青山镇")
    assert listed.exit_code == 0 and q_phone in listed.output and l_phone not in listed.output
    assert [line.split("\t")[2] for line in listed.output.splitlines() if "\t" in line] == [q_phone]
    assert county_cli("report", "commended", "2026").exit_code != 0  # which township's list?
    import json

    def village_comments(*args):
        r = county_cli("report", "quarter", "2026Q4", *args)
        assert r.exit_code == 0, r.output
        return {v["name"]: v.get("comment") for v in json.loads(r.stdout)["villages"]}

    assert village_comments("--township", "龙伏镇")[name] == "走访扎实"
    assert village_comments("--township", "青山镇")[name] is None  # the same name, another township's village
