"""Link lists uploaded in the console, waiting between the preview and the office's confirmation.

A list holds every household's name, phone and card number, so an upload must not outlive its use: the console
removes it when the import is confirmed or replaced, ``sweep_imports`` removes every upload older than
``[console] import_upload_hours`` (the ``housekeeping`` job, hourly, and each new upload), and ``lianxin purge``
removes them all (one of them may hold the purged household's row).

Files live in ``<media_dir>/imports/`` under a name that is the moment of the upload (seconds since the epoch, on
the product's clock) and 32 random hex digits, joined by ``x``: the age is read from the name, so tests that move
the clock move it too, and the random part keeps one user's upload from another's.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

IMPORTS = "imports"


def imports_dir(media_dir: str | Path) -> Path:
    d = Path(media_dir) / IMPORTS
    d.mkdir(parents=True, exist_ok=True)
    return d


def save_import(media_dir: str | Path, data: bytes, *, now: datetime) -> str:
    """Keep an uploaded list; returns its token (the file's name)."""
    token = f"{int(now.timestamp())}x{secrets.token_hex(16)}"
    (imports_dir(media_dir) / token).write_bytes(data)
    return token


def import_path(media_dir: str | Path, token: str) -> Path | None:
    """The upload with this token, or None (no such file, or a token that is not one of ours)."""
    if not token or not token.isalnum():
        return None
    path = imports_dir(media_dir) / token
    return path if path.is_file() else None


def _stamp(name: str) -> datetime | None:
    stamp, sep, rest = name.partition("x")
    if not sep or not stamp.isdigit() or not rest:
        return None
    return datetime.fromtimestamp(int(stamp), tz=UTC)


def sweep_imports(media_dir: str | Path, *, now: datetime, older_than: timedelta | None) -> int:
    """Remove the uploads older than ``older_than`` (None: every upload); returns how many. A file whose name
    carries no upload time (made before names carried one) counts as old."""
    root = Path(media_dir) / IMPORTS
    if not root.is_dir():
        return 0
    removed = 0
    for path in root.iterdir():
        if not path.is_file():
            continue
        at = _stamp(path.name)
        if older_than is None or at is None or at <= now - older_than:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
