"""Media that WeChat keeps 3 days (photos, voice): downloaded soon after it arrives, voice made playable in a
browser, and a villager's photo or voice forwarded to the cadre as itself.

Runs with every ``dispatch_outbox`` (every ``[scheduler] dispatch_interval_seconds``), so a message's media is
fetched within seconds to minutes — well inside media/get's 3 days (docs/wechat-rules.md §6a), with 5 attempts.

Voice arrives as AMR 8 kHz (``Format`` amr; speex from JSSDK) which no browser plays: Debian's ``ffmpeg``
turns it into MP3 next to the original (``attachment-N.mp3``). Without ffmpeg the original is kept and the
console says that ffmpeg is missing (``voice_playable``).

A villager's photo or voice (a request) goes to the cadre as a customer-service ``image``/``voice`` message
(media/upload, then message/custom/send) when the cadre's 48-hour window is open and has quota left — and counts
as one of the window's messages (``window_sent``); else only the text push (request_push, queued when the request
arrived) carries it, and its link (``/m/<token>``, console/push_media.py) shows the photo and plays the voice. Each attachment is forwarded
at most once: ``forwarded_at`` is claimed before sending (a crash between claim and send loses the forward,
never doubles it — the text push still tells the cadre).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from handlers.common import cadre_openid
from reminders.channels import recipients
from reminders.delivery import configured, make_client
from reminders.wechat_port import Media, WechatApi, WechatError
from storage.db import rows_changed
from storage.models import Attachment, VillagerRequest, WechatIdentity
from storage.runtime import Lianxin

MEDIA_WINDOW = timedelta(days=3)
MEDIA_MAX_ATTEMPTS = 5
FFMPEG_TIMEOUT_SECONDS = 60
# ffmpeg takes up to about 1 s for a 60 s message (bench/voice.py); this job shares its run with delivery, so
# at most this many are converted per run — the console converts any other on first play.
CONVERT_PER_RUN = 5

_EXT = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "audio/amr": ".amr",
    "audio/mpeg": ".mp3",
    "audio/x-speex": ".speex",
    "voice/speex": ".speex",
    "video/mp4": ".mp4",
}
PLAYABLE_SUFFIX, PLAYABLE_TYPE = ".mp3", "audio/mpeg"
BROWSER_AUDIO = {"audio/mpeg", "audio/mp3", "audio/ogg", "audio/wav", "audio/x-wav", "audio/webm"}


def download_media(
    lx: Lianxin, now: datetime | None = None, *, client: WechatApi | None = None, limit: int = 50
) -> int:
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
    root = Path(lx.config.general.media_dir)
    with lx.read_session() as s:
        todo = list(
            s.execute(
                select(
                    Attachment.id,
                    Attachment.media_id,
                    Attachment.created_at,
                    Attachment.download_attempts,
                    Attachment.owner_type,
                    Attachment.owner_id,
                    Attachment.media_type,
                )
                .where(
                    Attachment.media_id.is_not(None),
                    Attachment.downloaded_at.is_(None),
                    Attachment.download_attempts < MEDIA_MAX_ATTEMPTS,
                    Attachment.created_at >= now - MEDIA_WINDOW,
                )
                .order_by(Attachment.id)
                .limit(limit)
            ).all()
        )
    done = converted = 0
    for att_id, media_id, created_at, attempts, owner_type, owner_id, media_type in todo:
        try:
            media = client.get_media(media_id)
        except WechatError as e:
            with lx.session() as s:
                s.execute(
                    update(Attachment)
                    .where(Attachment.id == att_id)
                    .values(download_attempts=attempts + 1, download_error=str(e)[:500])
                )
            continue
        local = created_at.astimezone(lx.config.tz)
        folder = root / f"{local:%Y}" / f"{local:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        ctype = media.content_type.split(";")[0].strip().lower()
        ext = _EXT.get(ctype) or (Path(media.filename).suffix if media.filename else ".bin")
        if media_type == "voice" and ext == ".bin":
            ext = ".amr"  # user voice is AMR 8 kHz (docs/wechat-rules.md §6c); the content type is not documented
        path = folder / f"attachment-{att_id}{ext}"
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(media.content)
        os.replace(tmp, path)
        with lx.session() as s:
            s.execute(
                update(Attachment)
                .where(Attachment.id == att_id)
                .values(
                    stored_path=str(path),
                    content_type=media.content_type,
                    size=len(media.content),
                    downloaded_at=now,
                    download_attempts=attempts + 1,
                    download_error=None,
                )
            )
        done += 1
        if media_type == "voice" and converted < CONVERT_PER_RUN:
            playable_voice(path, ctype)
            converted += 1
        if owner_type == "request" and media_type in ("image", "voice"):
            forward_to_cadre(lx, client, att_id, owner_id, media_type, path, media, now)
    return done


# ---------------------------------------------------------------------------------------------- voice


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


def playable_path(stored: Path) -> Path:
    return stored.with_suffix(PLAYABLE_SUFFIX) if stored.suffix != PLAYABLE_SUFFIX else stored


def playable_voice(stored: Path, content_type: str = "") -> tuple[Path | None, str | None]:
    """(a file a browser plays, None) or (None, why not). Converts AMR/Speex to MP3 once, with ffmpeg."""
    if content_type in BROWSER_AUDIO or stored.suffix in (".mp3", ".ogg", ".wav"):
        return stored, None
    target = playable_path(stored)
    if target.is_file():
        return target, None
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        return (
            None,
            "服务器未安装 ffmpeg，语音无法转换为浏览器能播放的格式（Debian/Ubuntu：apt install ffmpeg）",
        )
    tmp = target.with_name(target.stem + ".part" + target.suffix)
    try:
        done = subprocess.run(
            [
                ffmpeg,
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-i",
                str(stored),
                "-ac",
                "1",
                "-c:a",
                "libmp3lame",
                "-b:a",
                "32k",
                str(tmp),
            ],
            capture_output=True,
            timeout=FFMPEG_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"ffmpeg 转换失败：{e.__class__.__name__}"
    if done.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        return None, "ffmpeg 无法转换这段语音：" + done.stderr.decode("utf-8", "replace").strip()[:200]
    os.replace(tmp, target)
    return target, None


# ---------------------------------------------------------------------------------------------- forward


def forward_to_cadre(
    lx: Lianxin,
    client: WechatApi,
    att_id: int,
    request_id: int,
    kind: str,
    path: Path,
    media: Media,
    now: datetime,
) -> str:
    """Send a villager's photo or voice to the request's cadre as itself, at most once; returns the note."""
    with lx.session() as s:
        claimed = rows_changed(
            s.execute(
                update(Attachment)
                .where(Attachment.id == att_id, Attachment.forwarded_at.is_(None))
                .values(forwarded_at=now, forward_note="sending")
            )
        )
        req = s.get(VillagerRequest, request_id)
        target = cadre_openid(s, req.cadre_id) if req is not None else None
    if not claimed:
        return "already"
    note = _forward(lx, client, target, kind, path, media, now)
    with lx.session() as s:
        s.execute(update(Attachment).where(Attachment.id == att_id).values(forward_note=note[:200]))
    return note


def _forward(
    lx: Lianxin, client: WechatApi, target: str | None, kind: str, path: Path, media: Media, now: datetime
) -> str:
    if target is None:
        return "no cadre bound: not forwarded"
    who = recipients(lx, [target], now)[target]
    if who.unreachable:
        return "cadre unreachable: not forwarded"
    if not who.window_open or who.quota_left <= 0:
        return "window closed: the text push carries it"
    ctype = media.content_type.split(";")[0].strip().lower() or (
        "audio/amr" if kind == "voice" else "image/jpeg"
    )
    try:
        media_id = client.upload_media(kind, media.content, path.name, ctype)
        client.send_media(target, kind, media_id)
    except WechatError as e:
        return f"not forwarded ({e.errcode}): the text push carries it"
    # one of the window's messages, as WeChat counts it (5 per user message): the next push knows it is spent
    with lx.session() as s:
        s.execute(
            update(WechatIdentity)
            .where(WechatIdentity.openid == target)
            .values(window_sent=WechatIdentity.window_sent + 1)
            .execution_options(synchronize_session=False)
        )
    return "sent"
