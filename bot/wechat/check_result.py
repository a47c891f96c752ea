"""One line of ``lianxin wechat check``: what was checked, OK / WARN / FAIL / SKIP, what was seen and what to do."""

from __future__ import annotations

from dataclasses import dataclass

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4} {self.name}: {self.detail}"
        return f"{text} → {self.fix}" if self.fix and self.status in (FAIL, WARN) else text
