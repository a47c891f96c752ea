"""Each service card's permanent parametric QR code, made by the account (``qrcode/create``) and kept.

Only a code the account made makes WeChat push ``subscribe`` (EventKey ``qrscene_<scene>``) or ``SCAN``
(``<scene>``) to us; so the printed code encodes the ``url`` WeChat returned, and the scene is the card's
random ``qr_scene`` token (storage.cards). A card keeps its code for good: reprinting never asks again.

Bulk creation: one card at a time, each committed as soon as WeChat answers (a run cut short loses nothing
and a rerun goes on where it stopped). The scene token is stored *before* the call, so a retry after a lost
answer asks for the same scene. Transient failures (timeouts, 5xx, errcode -1) are retried with back-off;
any other errcode stops the run with what it means. The account's limit (100,000 permanent codes) is
checked before the first call: a run that would pass it is refused with the figures.

The API client is injected (``Lianxin.wechat_api``): console sits below bot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update

from reminders.wechat_port import TransientError, WechatApi, WechatError
from storage import cards
from storage.models import ServiceCard
from storage.runtime import Lianxin
from storage.timestamps import utcnow

RETRIES = 4
BACKOFF_SECONDS = 0.5
MEANINGS = {
    48001: "该公众号没有“生成带参数二维码”接口权限（需要已认证的服务号）",
    40053: "二维码参数无效，或该公众号的永久二维码已达 10 万个上限",
    45009: "今日接口调用次数已用完，请明天再试",
    40164: "本机 IP 不在公众号的 IP 白名单中",
    40125: "AppSecret 不正确",
    40013: "AppID 不正确",
}


class QrError(Exception):
    """Codes could not be made as asked; the message says why (in Chinese, for the office)."""


@dataclass
class QrRun:
    created: int = 0
    kept: int = 0  # already had a code
    numbers: list[str] = field(default_factory=list)


def credentials_missing(config: object) -> bool:
    wechat = config["wechat"]  # type: ignore[index]
    return not (wechat.get("app_id") and wechat.get("app_secret"))


def ensure_codes(
    lx: Lianxin,
    card_ids: list[int],
    *,
    api: WechatApi | None = None,
    progress: Callable[[int, int], None] | None = None,
    limit: int = cards.PERMANENT_QR_LIMIT,
    sleep: Callable[[float], None] = time.sleep,
) -> QrRun:
    """Make the missing QR codes of these cards; QrError (with what is done kept) when it cannot."""
    run = QrRun()
    with lx.sessions() as s:
        missing = (
            list(
                s.scalars(
                    select(ServiceCard.id)
                    .where(ServiceCard.id.in_(card_ids), ServiceCard.qr_url.is_(None))
                    .order_by(ServiceCard.id)
                )
            )
            if card_ids
            else []
        )
        made = cards.qr_codes_created(s)
    run.kept = len(card_ids) - len(missing)
    if not missing:
        return run
    if made + len(missing) > limit:
        raise QrError(
            f"需要新建 {len(missing)} 个永久二维码，但本系统已建 {made} 个，"
            f"公众号最多 {limit} 个：将超出上限，一个也未新建。"
        )
    if api is None:
        if lx.wechat_api is None:
            raise QrError("未配置微信接口客户端，无法生成二维码")
        api = lx.wechat_api()
    for i, card_id in enumerate(missing, 1):
        _one(lx, api, card_id, run, limit=limit, sleep=sleep)
        if progress is not None:
            progress(i, len(missing))
    return run


def _one(
    lx: Lianxin, api: WechatApi, card_id: int, run: QrRun, *, limit: int, sleep: Callable[[float], None]
) -> None:
    with lx.session() as s:  # the scene is kept before the call: a retry asks WeChat for the same one
        card = s.get(ServiceCard, card_id)
        if card is None or card.qr_url:
            return
        if cards.qr_codes_created(s) >= limit:
            raise QrError(f"公众号的永久二维码已达上限 {limit} 个，停止新建（已新建 {run.created} 个）。")
        # Set the scene only where none is set (one statement): two printing runs at once agree on one scene.
        s.execute(
            update(ServiceCard)
            .where(ServiceCard.id == card_id, ServiceCard.qr_scene.is_(None))
            .values(qr_scene=cards.new_scene())
        )
        s.refresh(card)
        scene, number = card.qr_scene, card.number
        assert scene is not None
    answer = None
    for attempt in range(RETRIES):
        try:
            answer = api.create_qrcode(scene)
            break
        except TransientError as e:
            if attempt == RETRIES - 1:
                raise QrError(
                    f"微信接口暂时不可用（{e}），已新建 {run.created} 个；稍后重试即可继续。"
                ) from None
            sleep(BACKOFF_SECONDS * 2**attempt)
        except WechatError as e:
            meaning = MEANINGS.get(e.errcode, e.errmsg or "未知错误")
            raise QrError(f"微信拒绝生成二维码：{e.errcode} {meaning}。已新建 {run.created} 个。") from None
    assert answer is not None
    with lx.session() as s:
        card = s.get(ServiceCard, card_id)
        assert card is not None
        card.qr_ticket = str(answer["ticket"])[:255]
        card.qr_url = str(answer["url"])[:255]
        card.qr_created_at = utcnow()
    run.created += 1
    run.numbers.append(number)
