"""The /wechat endpoint (werobot stays behind this adapter). Filled in by the bot work."""

from __future__ import annotations

from flask import Flask

from bot.app import Lianxin


def register(app: Flask, lx: Lianxin) -> None:
    """Placeholder until the bot lands: /wechat answers 503 so WeChat retries rather than losing messages."""

    @app.route("/wechat", methods=["GET", "POST"])
    def wechat_endpoint() -> tuple[str, int]:
        return "bot not installed", 503
