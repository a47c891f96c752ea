"""Download of attached media: photos and voice that WeChat keeps for 3 days, into ``[general] media_dir``."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from reminders.delivery import configured, make_client
from reminders.wechat_port import WechatApi, WechatError
from storage.models import Attachment
from storage.runtime import Lianxin

MEDIA_WINDOW = timedelta(days=3)
MEDIA_MAX_ATTEMPTS = 5

_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "audio/amr": ".amr",
        "audio/mpeg": ".mp3", "audio/x-speex": ".speex", "voice/speex": ".speex", "video/mp4": ".mp4"}


def download_media(lx: Lianxin, now: datetime | None = None, *, client: WechatApi | None = None,
                   limit: int = 50) -> int:
    """Fetch photos and voice of Attachment rows (WeChat keeps them 3 days) into ``[general] media_dir``."""
    now = now or lx.now()
    if not configured(lx):
        return 0
    own_client = client is None
    client = client or make_client(lx)
    try:
        return _download(lx, client, now, limit)
    finally:
        if own_client:
            client.close()


def _download(lx: Lianxin, client: WechatApi, now: datetime, limit: int) -> int:
    root = Path(lx.config["general"]["media_dir"])
    with lx.sessions() as s:
        todo = list(s.execute(
            select(Attachment.id, Attachment.media_id, Attachment.created_at, Attachment.download_attempts)
            .where(Attachment.media_id.is_not(None), Attachment.downloaded_at.is_(None),
                   Attachment.download_attempts < MEDIA_MAX_ATTEMPTS, Attachment.created_at >= now - MEDIA_WINDOW)
            .order_by(Attachment.id).limit(limit)
        ).all())
    done = 0
    for att_id, media_id, created_at, attempts in todo:
        try:
            media = client.get_media(media_id)
        except WechatError as e:
            with lx.session() as s:
                s.execute(update(Attachment).where(Attachment.id == att_id)
                          .values(download_attempts=attempts + 1, download_error=str(e)[:500]))
            continue
        local = created_at.astimezone(lx.config.tz)
        folder = root / f"{local:%Y}" / f"{local:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        ext = _EXT.get(media.content_type.split(";")[0].strip().lower()) or (
            Path(media.filename).suffix if media.filename else ".bin")
        path = folder / f"attachment-{att_id}{ext}"
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(media.content)
        os.replace(tmp, path)
        with lx.session() as s:
            s.execute(update(Attachment).where(Attachment.id == att_id).values(
                stored_path=str(path), content_type=media.content_type, size=len(media.content),
                downloaded_at=now, download_attempts=attempts + 1, download_error=None))
        done += 1
    return done
