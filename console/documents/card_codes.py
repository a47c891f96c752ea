"""Each service card's permanent parametric QR code, made by the account (``qrcode/create``) and kept.

Only a code the account made makes WeChat push ``subscribe`` (EventKey ``qrscene_<scene>``) or ``SCAN``
(``<scene>``) to us; so the printed code encodes the ``url`` WeChat returned, and the scene is the card's
random ``qr_scene`` token (storage.cards). A card keeps its code for good: reprinting never asks again.

Bulk creation: one card at a time, each committed as soon as WeChat answers (a run cut short loses nothing
and a rerun goes on where it stopped). The scene token is stored *before* the call, so a retry after a lost
answer asks for the same scene. Transient failures (timeouts, 5xx, errcode -1) are retried with back-off;
any other errcode stops the run with what it means. The account's limit (100,000 permanent codes) is
checked before the first call: a run that would pass it is refused with the figures.

Printing never waits on the account (PRODUCT.md "Safe to run for real"): ``codes_for_print`` makes what it
can, and when the account cannot make codes (48001 while 微信认证 is pending or lapsed, no credentials, the
limit, the daily quota …) the cards print without a code and the print says why; a later print adds the codes.
The console makes them in the background (``start_order`` / ``run_order``, state in ``print_order``) so the
first print of a township — one API call per card — never runs inside one HTTP request.

The API client is injected (``Lianxin.wechat_api``): console sits below bot.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update

from console.documents import printing as docs
from reminders.wechat_port import TransientError, WechatApi, WechatError
from storage import audit, cards, print_orders
from storage.config import Config
from storage.models import ConsoleUser, PrintOrder, ServiceCard
from storage.runtime import Lianxin

log = logging.getLogger("lianxin.console.card_codes")

RETRIES = 4
BACKOFF_SECONDS = 0.5
MEANINGS = {
    48001: "该公众号没有“生成带参数二维码”接口权限（需要已认证的服务号；微信认证审核中或过期未年审时也是如此）",
    40053: "二维码参数无效，或该公众号的永久二维码已达 10 万个上限",
    45009: "今日接口调用次数已用完，请明天再试",
    40164: "本机 IP 不在公众号的 IP 白名单中",
    40125: "AppSecret 不正确",
    40013: "AppID 不正确",
}


NO_CREDENTIALS = (
    "未配置微信 app_id / app_secret：无法向微信申请二维码，本次打印的服务卡不带二维码"
    "（卡上请村民关注公众号后发送卡号联系干部）。配置 [wechat] app_id、app_secret 后重新打印即可加上。"
)
FAILED_UNEXPECTEDLY = "生成二维码时出错（已记入日志）。"


def without_codes(reason: str, count: int | None = None) -> str:
    """The notice of a print whose cards (``count`` of them, when known) have no code: why, and what next."""
    cards_ = f"没有二维码的 {count} 张服务卡" if count is not None else "没有二维码的服务卡"
    return (
        f"{reason} {cards_}照常打印，不留二维码的位置，卡上请村民关注公众号后发送卡号联系干部；"
        "问题解决后重新打印，就会为这些卡加上二维码。"
    )


@dataclass
class QrRun:
    created: int = 0
    kept: int = 0  # already had a code
    numbers: list[str] = field(default_factory=list)


class QrError(Exception):
    """Codes could not be made as asked; the message says why (in Chinese, for the office). ``run``: what was
    made before it stopped (kept)."""

    def __init__(self, message: str, run: QrRun | None = None) -> None:
        super().__init__(message)
        self.run = run or QrRun()


@dataclass
class PrintCodes:
    """What printing got: the codes made, and why some cards print without one (None: every card has one)."""

    run: QrRun
    notice: str | None = None


def credentials_missing(config: Config) -> bool:
    wechat = config.wechat
    return not (wechat.app_id and wechat.app_secret)


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
    with lx.read_session() as s:
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
            f"公众号最多 {limit} 个：将超出上限，一个也未新建。",
            run,
        )
    if api is None:
        if lx.wechat_api is None:
            raise QrError("未配置微信接口客户端，无法生成二维码", run)
        api = lx.wechat_api()
    if progress is not None:
        progress(0, len(missing))
    for i, card_id in enumerate(missing, 1):
        try:
            _one(lx, api, card_id, run, limit=limit, sleep=sleep)
        except QrError as e:
            e.run = run
            raise
        if progress is not None:
            progress(i, len(missing))
    return run


def codes_for_print(
    lx: Lianxin,
    card_ids: list[int],
    *,
    api: WechatApi | None = None,
    progress: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PrintCodes:
    """Make the missing codes of the cards about to be printed, as far as the account allows; never raises for
    the account's sake: the notice says why some cards print without a code (and that a reprint adds it)."""
    if credentials_missing(lx.config):
        return PrintCodes(QrRun(kept=_with_code(lx, card_ids)), NO_CREDENTIALS)
    try:
        return PrintCodes(ensure_codes(lx, card_ids, api=api, progress=progress, sleep=sleep))
    except QrError as e:
        without = len(card_ids) - _with_code(lx, card_ids)
        return PrintCodes(e.run, without_codes(str(e), without))


def _with_code(lx: Lianxin, card_ids: list[int]) -> int:
    if not card_ids:
        return 0
    with lx.read_session() as s:
        return len(
            list(
                s.scalars(
                    select(ServiceCard.id).where(
                        ServiceCard.id.in_(card_ids), ServiceCard.qr_url.is_not(None)
                    )
                )
            )
        )


# ------------------------------------------------------------------------------- the console's background run


def start_order(lx: Lianxin, order_id: int) -> threading.Thread:
    """Make the order's codes in a thread of this worker; the page polls the order's row (any worker may serve
    it, and takes the run over when this thread dies with its worker)."""
    thread = threading.Thread(
        target=run_order, args=(lx, order_id), name=f"print-order-{order_id}", daemon=True
    )
    thread.start()
    return thread


def run_order(
    lx: Lianxin, order_id: int, *, api: WechatApi | None = None, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Claim the order (nothing when another live run has it), make its cards' missing codes, mark it done."""
    with lx.session() as s:
        if not print_orders.claim(s, order_id, now=lx.now()):
            return
    notice: str | None
    try:
        with lx.session() as s:
            order = s.get(PrintOrder, order_id)
            assert order is not None
            village, township_id = order.village, order.township_id
            actor = f"console:{s.scalar(select(ConsoleUser.username).where(ConsoleUser.id == order.user_id))}"
            ids = [c.id for c in docs.printable_cards(s, village=village, township_id=township_id)]

        def beat(made: int, total: int) -> None:
            with lx.session() as s:
                print_orders.progress(s, order_id, made=made, total=total, now=lx.now())

        got = codes_for_print(lx, ids, api=api, progress=beat, sleep=sleep)
        notice = got.notice
        if got.run.created:
            with lx.session() as s:
                audit.record(
                    s,
                    actor=actor,
                    action="cards.qr_create",
                    target=f"village:{village or '*'}",
                    detail={"created": got.run.created},
                )
    except Exception:  # noqa: BLE001 - the office still gets its print, without the codes, and the log says why
        log.exception("print order %s: making QR codes failed", order_id)
        notice = without_codes(FAILED_UNEXPECTEDLY)
    with lx.session() as s:
        print_orders.finish(s, order_id, notice=notice, now=lx.now())


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
        card.qr_created_at = lx.now()
    run.created += 1
    run.numbers.append(number)
