"""The whole domain of the 三五连心 programme as typed SQLAlchemy models.

Conventions:
- timestamps are ``UTCDateTime`` (aware in Python, naive UTC in the database);
- a *local* calendar day or month that a rule depends on (the diary day, the summary's month) is stored
  as its own column, computed once in the configured time zone, so that reports group by it with plain
  SQL that is identical on SQLite and PostgreSQL;
- nothing personal is ever deleted by a cascade from a WeChat event; ``purge`` is explicit and audited.

One module of ~600 lines on purpose: it is one declarative registry whose relationships cross every domain
(a card's assignment points at a cadre, a household, a village), read together and mirrored by one migration.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.targets import Target, TargetList
from storage.timestamps import JSONType, UTCDateTime, stamp

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Every model maps one Table (none is mapped to a join or a select), so say so to the type checker: insert(),
    # update() and insert_or_skip() take Model.__table__ (SQLAlchemy's own advice, sqlalchemy/sqlalchemy#9130).
    __table__: ClassVar[Table]
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


# --------------------------------------------------------------------------------------------------
# Places and people
# --------------------------------------------------------------------------------------------------


class Township(Base):
    __tablename__ = "township"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Village(Base):
    """A 村 or 居 of the township."""

    __tablename__ = "village"
    __table_args__ = (UniqueConstraint("township_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"))
    name: Mapped[str] = mapped_column(String(100))
    # 单位办点: the stationed unit that runs the village's demonstration point (the seed's "单位办点…一并公示"),
    # set by the office and shown on the public listing (storage/station_units.py); None: none named
    station_unit: Mapped[str | None] = mapped_column(String(100))
    township: Mapped[Township] = relationship()


class VillagerGroup(Base):
    """A 村民小组 inside a village."""

    __tablename__ = "villager_group"
    __table_args__ = (UniqueConstraint("village_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    name: Mapped[str] = mapped_column(String(100))
    # 包组联户: the cadre who answers for the whole group (the link list's 包组干部电话), and since when
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadre.id"), index=True)
    cadre_linked_at: Mapped[datetime | None]
    village: Mapped[Village] = relationship()
    cadre: Mapped[Cadre | None] = relationship()


class Household(Base):
    """A rural household (农户) with its 民情信息登记表 (members, income, industries, difficulties)."""

    __tablename__ = "household"
    __table_args__ = (CheckConstraint("population >= 0", name="population_nonneg"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("villager_group.id"))
    head_name: Mapped[str] = mapped_column(String(50), index=True)
    head_phone: Mapped[str | None] = mapped_column(String(20))
    population: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str | None] = mapped_column(String(200))
    # 民情信息登记表: members as [{"name":..,"relation":..,"age":..,"note":..}]
    members: Mapped[list[Any] | None] = mapped_column(JSONType)
    annual_income: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    income_sources: Mapped[str | None] = mapped_column(Text)
    industries: Mapped[str | None] = mapped_column(Text)  # 产业项目
    difficulties: Mapped[str | None] = mapped_column(Text)
    info_updated_at: Mapped[datetime | None]
    info_updated_by: Mapped[str | None] = mapped_column(String(100))
    policy_done_on: Mapped[date | None] = mapped_column(Date)  # 惠农政策宣传 delivered and explained
    policy_done_by: Mapped[str | None] = mapped_column(String(100))
    listed_on: Mapped[date | None] = mapped_column(Date)  # shown in the village's public listing (公示)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    updated_at: Mapped[datetime] = mapped_column(default=stamp, onupdate=stamp)
    purged_at: Mapped[datetime | None]  # personal data removed on request (lianxin purge)
    # WeChat accounts ever linked to the household: each link takes the next number (its 关联号, named in the
    # cadre's link notice so `解绑 户主姓名 N` removes exactly that account); never reused
    links_made: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The register without re-importing (storage/register.py): who added it outside a list (None: a list did),
    # and its closing — the day it left the programme (it counts for the days before), why, who and when
    added_by: Mapped[str | None] = mapped_column(String(100))
    # No index: nearly every row is NULL, and every query asks ``closed_on IS NULL``; with one, PostgreSQL before
    # its first ANALYZE of a freshly imported table guessed 26 such rows and scanned all 100,000 households for
    # each diary's mention lookup (bench/RESULTS.md, issue 27: 21 diaries/s instead of 600).
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_reason: Mapped[str | None] = mapped_column(String(10))  # 迁出 | 去世 | 合户 | 其他
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(100))

    village: Mapped[Village] = relationship()
    group: Mapped[VillagerGroup | None] = relationship()
    link: Mapped[Link | None] = relationship(back_populates="household", uselist=False)
    card: Mapped[ServiceCard | None] = relationship(back_populates="household", uselist=False)


class HouseholdTag(Base):
    """A 重点人群 tag of a household (低保户, 独居老人 …; storage/household_tags.py): seen by the office and the
    household's own cadre only, never on a public listing, a card, a push or a page under public_url."""

    __tablename__ = "household_tag"
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(default=stamp)
    added_by: Mapped[str] = mapped_column(String(100))  # "import", "cli", "console:<user>"


class HouseholdInfoHistory(Base):
    """One change to a household's information form: kept so the office can see what changed and who did it."""

    __tablename__ = "household_info_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(default=stamp)
    changed_by: Mapped[str] = mapped_column(String(100))  # "cadre:<phone>", "office:<user>", "import"
    field: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


def _village_township(context: Any) -> int | None:
    """A cadre's township when only the village was given: the village's (for ORM adds and bulk inserts)."""
    village_id = context.get_current_parameters().get("village_id")
    if village_id is None:
        return None
    return context.connection.scalar(select(Village.township_id).where(Village.id == village_id))


class Cadre(Base):
    """A linking cadre (联户干部), identified by phone."""

    __tablename__ = "cadre"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    post: Mapped[str | None] = mapped_column(String(100))  # 岗位
    unit: Mapped[str | None] = mapped_column(String(100))  # 单位
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"), index=True)
    # The township the cadre serves (a county deployment holds several): given, or the village's.
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"), index=True, default=_village_township)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # 退出 (storage/cadres.py retire): the first day the cadre no longer serves; ``active`` is False from then on.
    # Their history stays; reports count their days before it, and leave them out of periods that start after it.
    retired_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    updated_at: Mapped[datetime] = mapped_column(default=stamp, onupdate=stamp)
    village: Mapped[Village | None] = relationship()
    township: Mapped[Township] = relationship()


class CadreLeave(Base):
    """A period a cadre is on leave (inclusive dates): no reminders, not owed diary days.

    Only ``approved`` leave counts. The office records leave approved at once; a cadre's chat 请假 is
    ``requested`` until the office approves (or refuses) it in the console."""

    __tablename__ = "cadre_leave"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="leave_order"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="approved", server_default="approved")
    requested_by: Mapped[str | None] = mapped_column(String(100))  # "cadre:<phone>", "console:<user>", "cli"
    requested_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    cadre: Mapped[Cadre] = relationship()


class Link(Base):
    """The cadre–household link (联户): one cadre per household."""

    __tablename__ = "link"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), unique=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    linked_at: Mapped[datetime] = mapped_column(default=stamp)
    commitment_signed_on: Mapped[date | None] = mapped_column(Date)  # 工作承诺书
    commitment_recorded_by: Mapped[str | None] = mapped_column(String(100))
    household: Mapped[Household] = relationship(back_populates="link")
    cadre: Mapped[Cadre] = relationship()


class LinkChange(Base):
    """History of link changes (a household moved from one cadre to another)."""

    __tablename__ = "link_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    old_cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadre.id"))
    new_cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadre.id"))
    changed_at: Mapped[datetime] = mapped_column(default=stamp)
    changed_by: Mapped[str] = mapped_column(String(100))


class ServiceCard(Base):
    """便民服务卡: one per household. Reprints keep the number unless the office changes it."""

    __tablename__ = "service_card"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), unique=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    issued_on: Mapped[date | None] = mapped_column(Date)  # handed to the household
    issued_by: Mapped[str | None] = mapped_column(String(100))
    printed_at: Mapped[datetime | None]
    # The card's permanent parametric QR code (qrcode/create, QR_LIMIT_STR_SCENE): ``qr_scene`` is a random
    # token (never derived from the number), set before the API call so a retry asks for the same scene;
    # ``qr_ticket``/``qr_url`` are WeChat's answer and ``qr_created_at`` counts against the account's 100,000.
    qr_scene: Mapped[str | None] = mapped_column(String(64), unique=True)
    qr_ticket: Mapped[str | None] = mapped_column(String(255))
    qr_url: Mapped[str | None] = mapped_column(String(255))
    qr_created_at: Mapped[datetime | None]
    household: Mapped[Household] = relationship(back_populates="card")


class PrintOrder(Base):
    """A print asked for in the console (service cards or the public listing). Its page (/print/orders/<token>, a
    GET, so reopening the tab works) shows the progress while the cards' missing QR codes are made in the
    background (console/documents/card_codes.py), then the print itself. The state is here, not in a worker's
    memory, so any worker shows it and a run whose worker died is taken over (``heartbeat_at`` grows stale)."""

    __tablename__ = "print_order"
    __table_args__ = (
        CheckConstraint("kind IN ('cards','listing')", name="kind"),
        CheckConstraint("status IN ('pending','running','done')", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  # the page's address: unguessable
    kind: Mapped[str] = mapped_column(String(10))
    # who asked: only they see it
    user_id: Mapped[int] = mapped_column(ForeignKey("console_user.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("township.id"))
    village: Mapped[str | None] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(4))  # html | pdf
    status: Mapped[str] = mapped_column(String(10), default="pending")
    total: Mapped[int] = mapped_column(Integer, default=0)  # QR codes to make
    made: Mapped[int] = mapped_column(Integer, default=0)
    notice: Mapped[str | None] = mapped_column(Text)  # why some cards print without a code
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    heartbeat_at: Mapped[datetime | None]  # the background run's last sign of life


class DutyRecord(Base):
    """A 五个一 duty recorded for a household (发卡, 宣传, 承诺, 登记), kept for history and 撤销."""

    __tablename__ = "duty_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadre.id"), index=True)
    duty: Mapped[str] = mapped_column(String(20))  # info | card | policy | commitment
    done_on: Mapped[date] = mapped_column(Date)
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # what to restore on 撤销
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    undone_at: Mapped[datetime | None]


# --------------------------------------------------------------------------------------------------
# WeChat accounts
# --------------------------------------------------------------------------------------------------


class WechatIdentity(Base):
    """A WeChat account (openid) of the Official Account, bound to a cadre, a household or the office."""

    __tablename__ = "wechat_identity"
    __table_args__ = (
        CheckConstraint("kind IN ('unknown','cadre','villager','office')", name="identity_kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="unknown")
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadre.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    bound_at: Mapped[datetime | None]
    bound_via: Mapped[str | None] = mapped_column(String(10))  # villagers: "number" (typed) | "qr" (scanned)
    link_no: Mapped[int | None] = mapped_column(Integer)  # villagers: the link's number in its household
    first_seen_at: Mapped[datetime] = mapped_column(default=stamp)
    last_inbound_at: Mapped[datetime | None]  # opens WeChat's 48-hour customer-service window
    window_sent: Mapped[int] = mapped_column(Integer, default=0)  # customer-service messages in this window
    # WeChat's customer-service window as the platform counts it (docs/wechat-rules.md §5b): a user's message opens
    # 5 messages / 48 h, a follow, a scan or a menu click 3 within 1 minute, other events nothing.
    window_opened_at: Mapped[datetime | None]
    window_until: Mapped[datetime | None]
    window_quota: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    unsubscribed_at: Mapped[datetime | None]
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))
    cadre: Mapped[Cadre | None] = relationship()
    household: Mapped[Household | None] = relationship()


class BindCode(Base):
    """A one-time code the office issues so a cadre can bind their WeChat (stored hashed)."""

    __tablename__ = "bind_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_openid: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100), default="cli")
    revoked_at: Mapped[datetime | None]  # voided by a newer code for the same cadre


class CadreBinding(Base):
    """One binding of a cadre's WeChat account, kept after it ends: when, which account, with which code, and
    when and why it was released (shown on the cadre's console page)."""

    __tablename__ = "cadre_binding"
    id: Mapped[int] = mapped_column(primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    openid: Mapped[str] = mapped_column(String(64))
    bound_at: Mapped[datetime]
    code_id: Mapped[int | None] = mapped_column(ForeignKey("bind_code.id"))
    released_at: Mapped[datetime | None]
    # rebound (the cadre bound another account) | moved (this account bound another cadre) | retired (the cadre)
    released_why: Mapped[str | None] = mapped_column(String(20))
    code: Mapped[BindCode | None] = relationship()


class RateLimit(Base):
    """Failed attempts per key (binding codes, card numbers, console logins) and a lock-out time."""

    __tablename__ = "rate_limit"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(default=stamp)
    locked_until: Mapped[datetime | None]


class InboundMessage(Base):
    """Every message WeChat POSTs, logged before it is handled. ``dedup_key`` makes retries one effect."""

    __tablename__ = "inbound_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(
        String(150), unique=True
    )  # "msg:<MsgId>" or "evt:<from>:<time>:<event>"
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(20))
    event: Mapped[str | None] = mapped_column(String(40))
    content: Mapped[str | None] = mapped_column(Text)
    media_id: Mapped[str | None] = mapped_column(String(200))
    create_time: Mapped[datetime]  # WeChat's CreateTime
    received_at: Mapped[datetime] = mapped_column(default=stamp)
    status: Mapped[str] = mapped_column(String(12), default="received")  # received|handled|failed
    reply: Mapped[str | None] = mapped_column(Text)  # the reply sent, so a late retry gets the same answer
    error: Mapped[str | None] = mapped_column(Text)
    # How the body came: 'plain' (no encrypt_type), 'aes' (decrypted with our EncodingAESKey), 'compat' (encrypted
    # and plain together, read in plain: no key configured). `lianxin wechat check` reports the mix of the last
    # 24 hours (a key set while the account still sends plain, …). NULL: before this was recorded.
    transport: Mapped[str | None] = mapped_column(String(8))


class SignedQuery(Base):
    """One signed /wechat query (timestamp, nonce, signature), one message: the signature covers no body in plain
    mode, so the first body handled under a query is kept (as a hash) while the query's timestamp is accepted, and
    the same query with another body is refused (bot/wechat/endpoint.py, storage/wechat_edge.py)."""

    __tablename__ = "wechat_signed_query"
    id: Mapped[int] = mapped_column(primary_key=True)
    query_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of timestamp, nonce, signature
    body_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the message's fields
    expires_at: Mapped[datetime] = mapped_column(index=True)  # the query's timestamp + the tolerance


class WechatEdgeFault(Base):
    """What went wrong at /wechat with a message WeChat signed (so: not a stranger's noise), one row per kind:
    'decrypt_failed' (the EncodingAESKey or AppID does not fit: the key was mistyped or changed) and 'no_key'
    (an encrypted-only body while no key is configured). Read by `lianxin wechat check`."""

    __tablename__ = "wechat_edge_fault"
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer, default=0)


class ConversationState(Base):
    """Explicit state of a multi-step chat (e.g. the guided 登记), with a timeout."""

    __tablename__ = "conversation_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("wechat_identity.id"), unique=True)
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=stamp, onupdate=stamp)


# --------------------------------------------------------------------------------------------------
# 民情日记
# --------------------------------------------------------------------------------------------------


class DiaryEntry(Base):
    """A daily record (日记录). ``day`` is the local date of the message's CreateTime."""

    __tablename__ = "diary_entry"
    __table_args__ = (Index("ix_diary_cadre_day", "cadre_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"))
    day: Mapped[date] = mapped_column(Date, index=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10), default="text")  # text | voice | console | demo | paper
    entered_by: Mapped[str | None] = mapped_column(
        String(100)
    )  # 补录: who entered a paper entry ("cli", "console:<user>")
    media_id: Mapped[str | None] = mapped_column(String(200))  # voice media id
    role: Mapped[str | None] = mapped_column(String(10))  # 五个员: 调查 宣传 调解 服务 指导
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    deleted_at: Mapped[datetime | None]  # 撤销
    cadre: Mapped[Cadre] = relationship()


class DiaryMention(Base):
    """A household named in a diary entry (by name or card number): a visit for the ledger."""

    __tablename__ = "diary_mention"
    diary_id: Mapped[int] = mapped_column(ForeignKey("diary_entry.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True, index=True)


class MonthlySummary(Base):
    """The monthly summary (月小结). ``month`` is 'YYYY-MM'; one per cadre and month (a later one replaces)."""

    __tablename__ = "monthly_summary"
    __table_args__ = (UniqueConstraint("cadre_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"))
    month: Mapped[str] = mapped_column(String(7))
    text: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(default=stamp)
    submitted_day: Mapped[date] = mapped_column(Date)  # local date, to judge 'on time'
    on_time: Mapped[bool] = mapped_column(Boolean, default=True)
    # what the latest 小结 replaced (text, submitted_at, submitted_day, on_time), for `撤销` within 10 minutes;
    # None: it was the month's first (撤销 removes it)
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cadre: Mapped[Cadre] = relationship()


# --------------------------------------------------------------------------------------------------
# 工作督办卡
# --------------------------------------------------------------------------------------------------


class Task(Base):
    """A supervision card the office issues. ``number`` is what cadres type (反馈 N)."""

    __tablename__ = "task"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime] = mapped_column(index=True)
    publish_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    # whom it is for, by id (storage/targets.py): everyone, townships, villages or cadres
    targets: Mapped[list[Target]] = mapped_column(TargetList, default=list)
    # The issuing township's office; None: issued by the county (it may reach several townships).
    township_id: Mapped[int | None] = mapped_column(ForeignKey("township.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(100), default="cli")
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    cancelled_at: Mapped[datetime | None]
    assignments: Mapped[list[TaskAssignment]] = relationship(back_populates="task")


class TaskHousehold(Base):
    """A household a card concerns (for the 五个一 ledger)."""

    __tablename__ = "task_household"
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True, index=True)


class TaskAssignment(Base):
    """A card's assignment to one cadre: delivered → acknowledged → fed_back → done (or returned)."""

    __tablename__ = "task_assignment"
    __table_args__ = (
        UniqueConstraint("task_id", "cadre_id"),
        CheckConstraint(
            "status IN ('pending','delivered','acknowledged','fed_back','done','returned')",
            name="assignment_status",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    deadline: Mapped[datetime] = mapped_column(index=True)  # the card's, or an extension granted
    delivered_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    first_feedback_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    returned_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_requested_until: Mapped[datetime | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_status: Mapped[str | None] = mapped_column(String(10))  # requested | granted | refused
    task: Mapped[Task] = relationship(back_populates="assignments")
    cadre: Mapped[Cadre] = relationship()


class Feedback(Base):
    """One event on an assignment's timeline: feedback, done, return (退回), extension request/answer."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("task_assignment.id"), index=True)
    kind: Mapped[str] = mapped_column(
        String(20)
    )  # feedback|done|return|extension_request|extension_grant|extension_refuse
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(100))  # "cadre:<phone>" or "office:<user>", as shown
    # the cadre who wrote it (None: the office): what a photo sent just after joins, by id, never by the author
    # text (a phone may change)
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadre.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))


class Attachment(Base):
    """A photo or voice message attached to a diary entry, a feedback or a villager request."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_owner", "owner_type", "owner_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(12))  # diary | feedback | request
    owner_id: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(10))  # image | voice | location
    media_id: Mapped[str | None] = mapped_column(String(200))
    pic_url: Mapped[str | None] = mapped_column(String(500))
    stored_path: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    download_attempts: Mapped[int] = mapped_column(Integer, default=0)
    downloaded_at: Mapped[datetime | None]
    download_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    # A villager's photo or voice forwarded to the cadre as itself (customer-service image/voice), once:
    # set when the forward is claimed; forward_note says how it ended (sent, window closed, error).
    forwarded_at: Mapped[datetime | None]
    forward_note: Mapped[str | None] = mapped_column(String(200))


# --------------------------------------------------------------------------------------------------
# Villagers' requests (诉求)
# --------------------------------------------------------------------------------------------------


class VillagerRequest(Base):
    """A villager's message to their cadre, with a short number the cadre answers (回复 M)."""

    __tablename__ = "villager_request"
    __table_args__ = (
        # transferred: with a township department (转办, storage/station/), which answers it
        CheckConstraint("status IN ('open','transferred','answered','closed')", name="request_status"),
        Index("ix_request_cadre_status", "cadre_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    # None for a request received offline (phone, visit, letter) and registered by the office
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("wechat_identity.id"), index=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"))
    channel: Mapped[str] = mapped_column(
        String(10), default="wechat", server_default="wechat"
    )  # wechat|phone|visit|letter
    recorded_by: Mapped[str | None] = mapped_column(String(100))  # who registered an offline request
    # an offline request: the household's linked account the office chose to tell of the answer; None = nobody's
    # WeChat (the person who phoned may have none, and the household's latest link may be a stranger): the cadre
    answer_to_id: Mapped[int | None] = mapped_column(ForeignKey("wechat_identity.id"))
    category: Mapped[str] = mapped_column(String(10))  # 求助 纠纷 建议 咨询 其他
    role: Mapped[str | None] = mapped_column(String(10))  # the 五个员 role the category maps to
    text: Mapped[str] = mapped_column(Text)
    msg_type: Mapped[str] = mapped_column(String(12), default="text")
    created_at: Mapped[datetime] = mapped_column(default=stamp, index=True)
    first_answer_at: Mapped[datetime | None]
    # handed to another cadre with its household (storage/handover.py) before anyone answered: when it reached
    # its present cadre, whose time limit runs from here (storage/assessment/queries.py; the month is still
    # that of ``created_at``)
    handed_over_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(12), default="open")  # 12: "transferred"
    satisfaction: Mapped[str | None] = mapped_column(String(10))  # 满意 | 不满意
    satisfaction_at: Mapped[datetime | None]
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(100))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    # the department it was last passed to (转办; its transfers are RequestTransfer rows), None: never passed on
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    household: Mapped[Household] = relationship()
    cadre: Mapped[Cadre] = relationship()
    identity: Mapped[WechatIdentity | None] = relationship(foreign_keys=[identity_id])
    answer_to: Mapped[WechatIdentity | None] = relationship(foreign_keys=[answer_to_id])
    replies: Mapped[list[RequestReply]] = relationship(back_populates="request", order_by="RequestReply.id")


class RequestReply(Base):
    """A message in a request's conversation: the cadre's or office's answer, or a villager's follow-up."""

    __tablename__ = "request_reply"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("villager_request.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))  # "cadre:<phone>", "office:<user>", "villager"
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    request: Mapped[VillagerRequest] = relationship(back_populates="replies")


class Department(Base):
    """A township's 站办所 (民政办, 司法所, 农业农村办 …): villagers' requests a cadre cannot settle alone are passed
    to it (转办, storage/station/). Its staff answer in the console (accounts of role ``department``); the WeChat
    accounts in ``openids`` are pushed its new requests and reminders (set by the office: CLI and console)."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("township_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    openids: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    township: Mapped[Township] = relationship()


class RequestTransfer(Base):
    """One passing of a villager's request to a department (转办), and what became of it: answered (the answer is
    a RequestReply by ``department:<name>``), more time asked (the office grants or refuses, as a card's 延期),
    handed back to the cadre, closed (办结). The villager's rating of the department's answer is kept here too, so
    回访 counts for the department as well as for the cadre."""

    __tablename__ = "request_transfer"
    __table_args__ = (
        CheckConstraint("status IN ('open','answered','returned','closed')", name="transfer_status"),
        Index("ix_transfer_department_status", "department_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("villager_request.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    note: Mapped[str | None] = mapped_column(Text)  # the cadre's or office's 说明
    transferred_by: Mapped[str] = mapped_column(String(100))  # "cadre:<phone>", "console:<user>", "cli"
    transferred_at: Mapped[datetime] = mapped_column(index=True)
    due: Mapped[datetime]  # the answer's time limit (an extension granted moves it)
    status: Mapped[str] = mapped_column(String(10), default="open")
    answered_at: Mapped[datetime | None]  # the department's first answer
    answered_by: Mapped[str | None] = mapped_column(String(100))
    extension_until: Mapped[datetime | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_status: Mapped[str | None] = mapped_column(String(10))  # requested | granted | refused
    returned_at: Mapped[datetime | None]
    returned_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(100))
    satisfaction: Mapped[str | None] = mapped_column(
        String(10)
    )  # 满意 | 不满意: the villager's, of its answer
    satisfaction_at: Mapped[datetime | None]
    request: Mapped[VillagerRequest] = relationship()
    department: Mapped[Department] = relationship()


class PolicyEntry(Base):
    """An entry of the 惠农政策宣传 handbook, under one of its topics."""

    __tablename__ = "policy_entry"
    __table_args__ = (UniqueConstraint("topic", "title"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(50), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str | None] = mapped_column(Text)  # extra words that should find this entry
    updated_at: Mapped[datetime] = mapped_column(default=stamp, onupdate=stamp)
    updated_by: Mapped[str | None] = mapped_column(String(100))


# --------------------------------------------------------------------------------------------------
# Delivery, scheduling, reports
# --------------------------------------------------------------------------------------------------


class OutboxMessage(Base):
    """A push the bot starts itself, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        # expired: a reminder whose period ended before it could be delivered (never sent late); refused: the
        # person switched off messages (48002, TEMPLATESENDJOBFINISH failed:user block), kept until they write again
        CheckConstraint(
            "status IN ('pending','sending','sent','failed','merged','expired','refused')",
            name="outbox_status",
        ),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # task | reminder | request | reply | notice
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)  # {"text": ..., "template": {...}}
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=stamp)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]
    channel: Mapped[str | None] = mapped_column(String(10))  # custom | template
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    sent_at: Mapped[datetime | None]
    merged_into: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None]  # a reminder's period ends: not delivered after this (status expired)
    # the msgid message/template/send answered: WeChat's TEMPLATESENDJOBFINISH event names the push by it
    wechat_msgid: Mapped[str | None] = mapped_column(String(32), index=True)
    # a card's push: the assignment it tells the cadre of (delivery marks it delivered; a cancelled card's
    # pending pushes are found by it) — the id itself, never parsed back out of the idempotency key
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("task_assignment.id"), index=True)


class ReminderSent(Base):
    """Each reminder at most once per (kind, person, period): the unique key is the guarantee."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("kind", "person", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    person: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime] = mapped_column(default=stamp)


class Lease(Base):
    """A named lease in the database: one active scheduler, one token refresher, one SQLite dispatcher."""

    __tablename__ = "lease"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class AccessToken(Base):
    """The WeChat access_token, shared by every process (a new token invalidates the old one)."""

    __tablename__ = "access_token"
    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(600))
    expires_at: Mapped[datetime]
    refreshed_at: Mapped[datetime] = mapped_column(default=stamp)
    # stable_token force_refresh: at most 20 a day and 30 s apart (docs/wechat-rules.md §1b)
    forced_at: Mapped[datetime | None]
    forced_day: Mapped[str | None] = mapped_column(String(10))
    forced_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StoredReport(Base):
    """A report produced by the monthly_circular job (or on demand), kept for download."""

    __tablename__ = "stored_report"
    __table_args__ = (
        UniqueConstraint("kind", "period", "format", "township_id"),
        Index(
            "uq_stored_report_county",
            "kind",
            "period",
            "format",
            unique=True,
            sqlite_where=text("township_id IS NULL"),
            postgresql_where=text("township_id IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int | None] = mapped_column(
        ForeignKey("township.id"), index=True
    )  # None: the county's
    kind: Mapped[str] = mapped_column(String(10))  # month | quarter | year | ledger
    period: Mapped[str] = mapped_column(String(10))
    format: Mapped[str] = mapped_column(String(5))  # json | xlsx | html
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=stamp)


class PublishedReport(Base):
    """A circular as the office published it (月通报, 季点评, 年考核): one row per file, frozen — later data
    never changes it (``lianxin report publish``). The draft the monthly_circular job stores is StoredReport."""

    __tablename__ = "published_report"
    __table_args__ = (
        UniqueConstraint("kind", "period", "format", "township_id"),
        Index(
            "uq_published_report_county",
            "kind",
            "period",
            "format",
            unique=True,
            sqlite_where=text("township_id IS NULL"),
            postgresql_where=text("township_id IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # the township whose circular this is; None: the county's report (``report publish --county``)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("township.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # month | quarter | year
    period: Mapped[str] = mapped_column(String(10))
    format: Mapped[str] = mapped_column(String(5))  # json | xlsx | html | pdf
    content: Mapped[bytes] = mapped_column(LargeBinary)
    published_at: Mapped[datetime] = mapped_column(default=stamp)
    published_by: Mapped[str] = mapped_column(String(100))


class OfficeRemark(Base):
    """The office's word on a period (storage/remarks.py): a 季点评 comment on a village or a cadre (kind
    ``comment``, period 'YYYYQn'), or a cadre commended (表彰) in the 年考核 (kind ``commend``, period 'YYYY',
    ``text`` the reason). One per kind, period and subject ('cadre:<id>' or 'village:<id>'); printed with
    that period's report, and frozen with it when the report is published."""

    __tablename__ = "office_remark"
    __table_args__ = (
        UniqueConstraint("kind", "period", "subject"),
        CheckConstraint("kind IN ('comment','commend')", name="remark_kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    period: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(40))
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadre.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"))
    text: Mapped[str] = mapped_column(Text)
    written_by: Mapped[str] = mapped_column(String(100))
    written_at: Mapped[datetime] = mapped_column(default=stamp)


# --------------------------------------------------------------------------------------------------
# The station's work (issue 26 items 2 and 4): disputes, the 动员会 register, 好经验好做法
# --------------------------------------------------------------------------------------------------


class Dispute(Base):
    """矛盾调解: a villager request marked a dispute (by its cadre in chat, ``调解 M``, or by the office), with its
    parties, its mediation steps and its outcome (storage/disputes.py). ``cadre_id`` is the mediator: the request's
    cadre when it was marked; the month report counts their work (``disputes_mediated``)."""

    __tablename__ = "dispute"
    __table_args__ = (
        CheckConstraint("outcome IN ('resolved','transferred','unresolved')", name="dispute_outcome"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("villager_request.id"), unique=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    category_before: Mapped[str] = mapped_column(String(10))  # the request's category, restored when unmarked
    marked_at: Mapped[datetime] = mapped_column(default=stamp)
    marked_by: Mapped[str] = mapped_column(String(100))  # "cadre:<phone>", "office:<user>"
    # resolved 调解成功 | transferred 转办 | unresolved 未调解; None: still being mediated
    outcome: Mapped[str | None] = mapped_column(String(12))
    outcome_on: Mapped[date | None] = mapped_column(Date, index=True)  # local day the outcome was recorded
    outcome_note: Mapped[str | None] = mapped_column(Text)
    outcome_by: Mapped[str | None] = mapped_column(String(100))
    request: Mapped[VillagerRequest] = relationship()
    cadre: Mapped[Cadre] = relationship()
    parties: Mapped[list[DisputeParty]] = relationship(order_by="DisputeParty.added_at")
    steps: Mapped[list[DisputeStep]] = relationship(order_by=lambda: (DisputeStep.day, DisputeStep.id))


class DisputeParty(Base):
    """A household that is a party to a dispute."""

    __tablename__ = "dispute_party"
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True, index=True)
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(default=stamp)
    household: Mapped[Household] = relationship()


class DisputeStep(Base):
    """One mediation step of a dispute: a dated note (the local day it was done)."""

    __tablename__ = "dispute_step"
    __table_args__ = (Index("ix_dispute_step_day", "dispute_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"))
    day: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(100))  # "cadre:<phone>", "office:<user>"
    created_at: Mapped[datetime] = mapped_column(default=stamp)


meeting_cadre = Table(
    "village_meeting_cadre",
    Base.metadata,
    Column("meeting_id", ForeignKey("village_meeting.id"), primary_key=True),
    Column("cadre_id", ForeignKey("cadre.id"), primary_key=True, index=True),
)


class VillageMeeting(Base):
    """动员会: a meeting on a village's register (date, title, the cadres who came and how many villagers), and
    when its notice was queued to the village's linked households (storage/meetings.py)."""

    __tablename__ = "village_meeting"
    __table_args__ = (UniqueConstraint("village_id", "day", "title"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    villagers: Mapped[int] = mapped_column(Integer, default=0)  # villagers who came (a count, no names)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    notified_at: Mapped[datetime | None]  # its notice queued (once; a second --notify queues nothing new)
    village: Mapped[Village] = relationship()
    cadres: Mapped[list[Cadre]] = relationship(secondary=meeting_cadre, order_by="Cadre.name")


class GoodPractice(Base):
    """好经验好做法 the office collects during the year (a village's or a cadre's), shown with the year's
    commendations (storage/practices.py)."""

    __tablename__ = "good_practice"
    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"))
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadre.id"))
    day: Mapped[date] = mapped_column(Date, index=True)
    written_by: Mapped[str] = mapped_column(String(100))
    written_at: Mapped[datetime] = mapped_column(default=stamp)
    village: Mapped[Village | None] = relationship()
    cadre: Mapped[Cadre | None] = relationship()


# --------------------------------------------------------------------------------------------------
# The office
# --------------------------------------------------------------------------------------------------


class ConsoleUser(Base):
    """A console account: county-admin / county-viewer (every township), admin (a township's office), village (a
    village secretary), viewer (leaders of a township), department (a township department's staff: its own
    transferred requests only, ``department_id``). ``township_id`` is None for the county roles only."""

    __tablename__ = "console_user"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin','village','viewer','county-admin','county-viewer','department')",
            name="user_role",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("township.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))  # role department only
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    last_login_at: Mapped[datetime | None]
    village: Mapped[Village | None] = relationship()


class ConsoleSession(Base):
    """A console login, kept on the server (issue 21 item 6): the cookie carries a random id whose SHA-256 is
    ``sid_hash``; logout, disabling the account and a password change end it (``ended_at``), and it ends by
    itself after ``[console] session_minutes`` idle or ``session_hours`` in all."""

    __tablename__ = "console_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_user.id"), index=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    last_seen_at: Mapped[datetime] = mapped_column(default=stamp)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(20))  # logout | disabled | password | replaced
    address: Mapped[str | None] = mapped_column(String(64))


class AppSecret(Base):
    """Secrets the deployment makes for itself and every process shares (issue 22 item 1): the console's
    session key, made at ``lianxin init`` when ``[console] secret_key`` is empty (storage/secrets.py)."""

    __tablename__ = "app_secret"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=stamp)


class ImportArchive(Base):
    """A link list as the office submitted it (the seed's 存档; storage/import_archive.py): the file's bytes, kept in
    the database (a backup of the database holds it; docs/deploy.md), with who imported it and when. One row per
    applied import, from the CLI or the console; ``lianxin purge`` empties ``content`` and says why."""

    __tablename__ = "import_archive"
    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int | None] = mapped_column(
        ForeignKey("township.id"), index=True
    )  # None: a county's list
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    imported_by: Mapped[str] = mapped_column(String(100))  # "cli" or "console:<user>"
    imported_at: Mapped[datetime] = mapped_column(default=stamp, index=True)
    content_removed_at: Mapped[datetime | None]
    content_removed_why: Mapped[str | None] = mapped_column(String(40))


class NumberCounter(Base):
    """The next number of each kind people type (storage/numbering.py): ``task`` (督办卡号, ``反馈 N``) and
    ``villager_request`` (诉求号, ``回复 M``). One row per kind, bumped by one UPDATE in the transaction that uses
    the number; a row missing (a fresh database) starts at 1."""

    __tablename__ = "number_counter"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)


class AuditLog(Base):
    """Every change and every export by the office (console or CLI)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=stamp, index=True)
    actor: Mapped[str] = mapped_column(String(100))  # "console:<user>" or "cli"
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class PushLink(Base):
    """The link a template message carries to the whole message: an unguessable, expiring token (stored as
    its SHA-256), which shows that one message (for a request: its thread and how to answer) and nothing else."""

    __tablename__ = "push_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    request_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    expires_at: Mapped[datetime]
    # issue 21 item 3: revoked when the recipient's account is unlinked or released (storage/push_links.py);
    # views by the recipient (first, last, how many) and opened by anyone else, shown to the office
    revoked_at: Mapped[datetime | None]
    views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_viewed_at: Mapped[datetime | None]
    last_viewed_at: Mapped[datetime | None]
    refused_views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DeliveryHold(Base):
    """Delivery of one kind of push (or of all: scope 'all') held after an account-level fault (48001, 40164,
    40125/40013, 40037 or no template, 45009, 45011): held messages stay pending, none is failed."""

    __tablename__ = "delivery_hold"
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(
        String(20), unique=True
    )  # 'all' | task | reminder | request | reply | notice
    errcode: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(default=stamp)
    next_probe_at: Mapped[datetime]
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
