"""The 惠农政策宣传 handbook the demo seeds: nine topics, 2–3 entries each, in storage/data/demo_handbook.toml
(prose is data: the office can edit it without touching code)."""

from __future__ import annotations

import tomllib
from pathlib import Path

HANDBOOK_FILE = Path(__file__).resolve().parent.parent / "data" / "demo_handbook.toml"


def load_handbook(path: Path = HANDBOOK_FILE) -> list[tuple[str, str, str, str]]:
    """(topic, title, keywords, body) for each entry, in the file's order."""
    with path.open("rb") as f:
        entries = tomllib.load(f)["entry"]
    return [(e["topic"], e["title"], e["keywords"], e["body"]) for e in entries]


POLICY_HANDBOOK: list[tuple[str, str, str, str]] = load_handbook()
