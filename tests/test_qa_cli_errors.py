"""User mistakes on the command line found in QA: each gets one clear line, never a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli import main
from console import printing
from tests.support.factories import Factory


@pytest.fixture
def cli(lx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIANXIN_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(main, list(args), env={"LIANXIN_DATABASE_URL": lx.config.database_url, **(env or {})})

    return invoke


def _clear(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for w in words:
        assert w in result.output, result.output


@pytest.mark.parametrize("args", [
    ("report", "month", "2026-11", "--out", "{missing}/r.html"),
    ("report", "month", "2026-11", "--format", "xlsx", "--out", "{missing}/r.xlsx"),
    ("ledger", "--format", "xlsx", "--out", "{missing}/l.xlsx"),
    ("cards", "--out", "{missing}/c.html"),
    ("listing", "--out", "{missing}/l.html"),
    ("import", "--template", "{missing}/t.xlsx"),
])
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
    proc = subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "init"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "schema upgraded" in proc.stdout
    assert "alembic" not in proc.stderr, proc.stderr
