"""Who the office is has one home, storage/offices.py: the deployment's office ([scheduler] office_openids and
the accounts bound as office) and, for something of one township, that township's own office. Two functions
with different signatures and callers passing their own lists used to answer it; now every office notice asks
``offices.recipients`` and nothing else reads the configured lists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from storage import offices
from storage.models import Township
from tests.support.factories import Factory

ROOT = Path(__file__).resolve().parent.parent
OFFICES = {
    "scheduler.office_openids": ["o-county"],
    "scheduler.township_office_openids": {
        "龙伏镇": ["o-longfu"],
        "青山镇": ["o-qingshan"],
        "没有的镇": ["o-x"],
    },
}


def test_the_office_for_a_township_is_the_deployments_office_and_that_townships_own(make_lx: Any) -> None:
    lx = make_lx(**OFFICES)
    with lx.session() as s:
        f = Factory(s)
        longfu = f.township("龙伏镇")
        qingshan = Township(name="青山镇")
        s.add(qingshan)
        s.flush()
        f.identity("o-bound-office", kind="office")
        f.identity("o-gone-office", kind="office").unreachable = True
        s.flush()
        assert offices.recipients(s, lx.config) == ["o-bound-office", "o-county"]
        assert offices.recipients(s, lx.config, longfu.id) == ["o-bound-office", "o-county", "o-longfu"]
        assert offices.recipients(s, lx.config, qingshan.id) == ["o-bound-office", "o-county", "o-qingshan"]
        # each township's own office, for the digests a job sends beside the deployment's
        assert offices.township_offices(s, lx.config) == [
            (longfu.id, ["o-longfu"]),
            (qingshan.id, ["o-qingshan"]),
        ]


def test_no_module_but_storage_offices_reads_who_the_office_is() -> None:
    """The configured office lists are read in storage/offices.py only (storage/config.py declares them)."""
    allowed = {Path("storage/offices.py"), Path("storage/config.py")}
    readers = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in ("storage", "handlers", "reminders", "console", "bot")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT) not in allowed and "migrations" not in path.parts
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\boffice_openids\b|township_office_openids", line)
    ]
    assert readers == []
