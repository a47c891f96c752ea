"""The office's web console (Flask blueprint, server-rendered Jinja2, Simplified Chinese)."""

from __future__ import annotations

from typing import Any

from flask import Flask


def register(app: Flask, lx: Any) -> None:
    """Placeholder until the console lands."""

    @app.get("/")
    def index() -> str:
        return "<!doctype html><meta charset=utf-8><title>连心</title><p>连心 — 控制台尚未安装。</p>"
