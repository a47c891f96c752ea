"""Logging for every lianxin process: what is written never holds a credential or a villager's number
(issue 21 item 10).

Three places wrote what they should not: the access logs of werkzeug's server and of gunicorn kept whole
request lines — console search terms (phones, card numbers, health words), the tokens of ``/m/<token>`` pages,
``/wechat``'s signature, timestamp, nonce and openid —, and at DEBUG urllib3 logged every WeChat API URL with
its ``access_token`` (and the web-OAuth ``secret`` and ``code``). So:

- every handler lianxin sets up formats through ``RedactingFormatter`` (storage.redact: no query strings,
  no page tokens, no ``key=value`` credentials, phone-, ID- and card-like numbers masked), whoever logs;
- the access logs log the path alone, the page token cut (``AccessLogHandler`` for werkzeug,
  ``GunicornLogger`` for gunicorn, whose access log is on, to standard error, without query or referrer).
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.glogging import Logger as _GunicornLogger
from werkzeug.serving import WSGIRequestHandler

from storage.redact import redact, redact_path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# gunicorn's access line: client, time, method, path (no query: %(U)s, never %(r)s/%(q)s/%(f)s), status, size,
# duration. ``GunicornLogger`` cuts page tokens out of the path.
GUNICORN_ACCESS_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'


class RedactingFormatter(logging.Formatter):
    """Formats as ``inner`` would (or with ``FORMAT``), then removes what storage.redact says must go."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__(FORMAT)
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record) if self.inner is not None else super().format(record)
        return redact(text)


def guard(handler: logging.Handler) -> None:
    """Make ``handler`` write through ``RedactingFormatter`` (once)."""
    if not isinstance(handler.formatter, RedactingFormatter):
        handler.setFormatter(RedactingFormatter(handler.formatter))


def configure(level: str) -> None:
    """Logging of a lianxin command: ``[general] log_level`` to standard error, every line redacted."""
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        guard(handler)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # Alembic's INFO lines ("setup plugin ...") buried the demo's console URL and logins.
        logging.getLogger("alembic").setLevel(logging.WARNING)


class AccessLogHandler(WSGIRequestHandler):
    """werkzeug's request handler, logging the path alone (no query, page tokens cut)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = redact_path(getattr(self, "path", "") or "-")
        self.log(
            "info", '"%s %s %s" %s %s', getattr(self, "command", "-"), path, self.request_version, code, size
        )

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, "%s", redact(message % args if args else message))


class QuietAccessLogHandler(AccessLogHandler):
    """The demo's terminal: no line per request (the first run reads as the logins and the address); a request
    that failed on the server (5xx) is still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if str(code).isdigit() and int(code) >= 500:  # at error level: the demo keeps werkzeug's info quiet
            path = redact_path(getattr(self, "path", "") or "-")
            self.log(
                "error",
                '"%s %s %s" %s %s',
                getattr(self, "command", "-"),
                path,
                self.request_version,
                code,
                size,
            )


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with the path alone in the access log and every line of both logs redacted."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                guard(handler)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(atoms.get("U") or "-")
        atoms["r"] = f"{atoms.get('m')} {atoms['U']} {atoms.get('H')}"
        atoms["q"] = "-"
        atoms["f"] = "-"  # a referrer is another page's URL, query and token included
        return {k: (redact(v) if isinstance(v, str) else v) for k, v in atoms.items()}
