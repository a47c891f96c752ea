"""Layered configuration: built-in defaults, then a TOML file, then the environment, then test overrides.

Every key is declared once, as a field of its section's dataclass below: the annotation is its type, the
field's default its default and the field's ``doc`` metadata its documentation. Code reads typed values —
``config.wechat.app_id``, ``config.scheduler.township_office_openids``, ``config.templates["task"].id`` — and
``SCHEMA`` (section -> key -> type, default, doc) is derived from the dataclasses, never written twice. An unknown
or ill-typed key stops start-up with a message naming the file and the key, so a typo never silently falls back
to a default.

Sections are plain mutable dataclasses: a test changes a setting by assigning it
(``lx.config.general.bind_guesses_per_hour = 6``) and every holder of ``lx.config`` (contexts, the console app,
the scheduler) sees the change at once; a ``replace()`` returning a new object would have to be re-bound in each.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, TypeVar, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


# A binding code is a credential for a cadre's account: it lives this long at most; [general] bind_code_hours may
# shorten it, never lengthen it (load_config refuses more).
BIND_CODE_MAX_HOURS = 72

# [general] timezone's default, the one home of the programme's zone: ``DEFAULT_TZ`` is for the few callers that
# have no config at hand (a service called from a test or a script); everyone else reads ``Config.tz``.
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_TZ = ZoneInfo(DEFAULT_TIMEZONE)

_T = TypeVar("_T")


def setting(default: _T, doc: str) -> _T:
    """One key of a section: its default and its documentation (its type is the field's annotation)."""
    if isinstance(default, list | dict):
        return field(default_factory=lambda: copy.deepcopy(default), metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


def section(factory: Callable[[], _T], toml: str | None = None) -> _T:
    """A section of ``Config``; ``toml`` is its table's name when that is not the attribute's name."""
    return field(default_factory=factory, metadata={"section": toml})


@dataclass
class GeneralConfig:
    """[general]"""

    timezone: str = setting(DEFAULT_TIMEZONE, "IANA time zone for diary days, months and reminders")
    township: str = setting("示范镇", "the township's name, shown on reports and cards")
    media_dir: str = setting("media", "folder where downloaded photos and voice are kept")
    public_url: str = setting("", "older place of [wechat] public_url, still read when that one is empty")
    account_name: str = setting("连心服务号", "the Official Account's name, printed on service cards")
    log_level: str = setting("INFO", "logging level")
    card_guesses_per_hour: int = setting(
        30,
        "distinct wrong card numbers (8-9 digits) from all accounts together within an hour that start "
        "a one-hour pause for accounts that typed a wrong number (0 = never pause)",
    )
    bind_code_hours: int = setting(
        BIND_CODE_MAX_HOURS,
        "a cadre's binding code works this many hours (1–72: may be shortened, never lengthened)",
    )
    bind_guesses_per_hour: int = setting(
        20,
        "wrong binding codes from all accounts together within an hour that pause binding for an hour "
        "for every account that typed a wrong code (0 = never pause)",
    )


@dataclass
class DatabaseConfig:
    """[database]"""

    url: str = setting(
        "sqlite:///lianxin.db", "SQLAlchemy URL; PostgreSQL: postgresql+psycopg://user:pw@host/db"
    )
    pool_size: int = setting(5, "connections per process (PostgreSQL)")
    echo: bool = setting(False, "log every SQL statement")


@dataclass
class WechatConfig:
    """[wechat]"""

    token: str = setting("lianxin-dev-token", "the Token set in the Official Account's server settings")
    app_id: str = setting("", "AppID")
    app_secret: str = setting("", "AppSecret")
    encoding_aes_key: str = setting("", "EncodingAESKey; empty = plain mode, set = safe mode (安全模式)")
    api_base: str = setting(
        "https://api.weixin.qq.com", "base URL of the WeChat API (tests use a local fake)"
    )
    public_url: str = setting(
        "",
        "the https address WeChat users reach lianxin at: template messages link there, "
        "menu views open there (empty: [general] public_url, else http://127.0.0.1:8000)",
    )
    timestamp_tolerance_seconds: int = setting(
        300, "requests whose timestamp is further from now are refused"
    )
    max_body_bytes: int = setting(65536, "larger POST bodies are refused with 400")
    request_timeout_seconds: float = setting(5.0, "timeout of one call to the WeChat API")
    custom_quota_per_window: int = setting(
        5,
        "at most this many of a window's customer-service messages are used (WeChat: 5 after a user's message, "
        "3 after a follow/scan/menu click)",
    )
    custom_text_max_bytes: int = setting(
        2000,
        "the most UTF-8 bytes of one customer-service text (WeChat refuses longer ones with 45002 and "
        "publishes no limit; the community's figure is 2048): longer messages go in parts or as a template",
    )
    max_attempts: int = setting(
        8, "a push still failing after this many attempts is marked failed (lianxin outbox)"
    )
    retry_base_seconds: int = setting(
        30, "first back-off after a temporary error; doubles each attempt (max 1 h)"
    )
    quota_pause_hours: int = setting(
        0, "after 45009 (daily API quota spent) pause delivery this long; 0 = until local midnight"
    )
    hold_probe_minutes: int = setting(
        10, "delivery held by an account-level fault (48001, 40164, …) is retried this often"
    )
    push_link_days: int = setting(
        7,
        "the link in a template message to the whole message works this many days "
        "(and ends at once when its recipient's account is unlinked or released)",
    )
    page_oauth: bool = setting(
        True,
        "open the page behind a template message's link only for its recipient, who is recognised "
        "silently by WeChat's 网页授权 (snsapi_base); needs app_id and app_secret (else the link alone opens it)",
    )
    oauth_base: str = setting(
        "https://open.weixin.qq.com",
        "base URL of WeChat's 网页授权 page (connect/oauth2/authorize; tests use a local fake)",
    )


# Pushes as template messages (PRODUCT.md "Pushes"): the value names each kind of push offers, fixed.
TEMPLATE_VALUE_NAMES: dict[str, tuple[str, ...]] = {
    "task": ("number", "title", "deadline", "office"),
    "reminder": ("what", "due"),
    "request": ("number", "household", "category", "text", "time"),
    "reply": ("number", "cadre", "text", "time"),
    "notice": ("title", "text", "time"),
}
# The type of a template key is its prefix ("thing1" -> thing); WeChat's per-type limits are in
# reminders/template_values.py (source: docs/wechat-rules.md section 4d).
TEMPLATE_KEY_TYPES: tuple[str, ...] = (
    "thing",
    "character_string",
    "time",
    "number",
    "phrase",
    "name",
    "amount",
    "car_number",
    "phone_number",
    "letter",
    "symbol",
    # in category templates too, but not in WeChat's value table (reminders/template_values.py says how they
    # are filled); enum and const take a literal value (below) where the template expects one of its own
    "date",
    "short_thing",
    "const",
    "enum",
)
LITERAL = "="  # fields = { const3 = "=已受理" }: this text itself, not a named value
_KEY_RE = re.compile(r"^(?P<type>[a-z_]+?)(?P<n>\d+)$")
# A mapping that fits templates commonly found in WeChat's 类目模板 library; config.example.toml shows the same.
DEFAULT_TEMPLATE_FIELDS: dict[str, dict[str, str]] = {
    "task": {"character_string1": "number", "thing2": "title", "time3": "deadline", "thing4": "office"},
    "reminder": {"thing1": "what", "time2": "due"},
    "request": {
        "character_string1": "number",
        "thing2": "household",
        "thing3": "category",
        "thing4": "text",
        "time5": "time",
    },
    "reply": {"character_string1": "number", "thing2": "cadre", "thing3": "text", "time4": "time"},
    "notice": {"thing1": "title", "thing2": "text", "time3": "time"},
}
_KIND_DOC = {
    "task": "supervision cards",
    "reminder": "reminders (diary, summary, deadlines)",
    "request": "a villager's request forwarded to a cadre",
    "reply": "a cadre's answer relayed to a villager",
    "notice": "notices to the office",
}


@dataclass
class TemplateConfig:
    """[wechat.templates.KIND]: one kind of push (TEMPLATE_VALUE_NAMES) sent as a template message."""

    id: str = setting("", "template id for {what}; empty = this kind is held until one is set")
    fields: dict[str, str] = setting({}, "template key -> value name; names: {names}")


def _default_templates() -> dict[str, TemplateConfig]:
    return {kind: TemplateConfig(fields=dict(DEFAULT_TEMPLATE_FIELDS[kind])) for kind in TEMPLATE_VALUE_NAMES}


@dataclass
class MenuConfig:
    """[wechat.menu]"""

    buttons: list[dict[str, Any]] = setting(
        [], "the custom menu (`lianxin wechat menu`); empty = the built-in default menu"
    )


@dataclass
class SlaConfig:
    """[sla]"""

    first_answer_hours: int = setting(24, "time limit for the first answer to a villager")
    remind_after_working_hours: int = setting(8, "remind the cadre of a request unanswered this long")
    escalate_after_working_hours: int = setting(24, "escalate an unanswered request to the office")
    work_day_start: str = setting("09:00", "working hours start (for the working-hour time limits)")
    work_day_end: str = setting("17:30", "working hours end")
    transfer_due_working_days: int = setting(
        5, "a request passed to a department (转办) is due this many working days later, at work_day_end"
    )


@dataclass
class SchedulerConfig:
    """[scheduler]"""

    enabled: bool = setting(True, "run the scheduler inside `lianxin serve`")
    diary_reminder_time: str = setting("19:30", "when cadres without a diary entry that day are reminded")
    month_end_days: int = setting(3, "month-end reminders run in this many last days of the month")
    deadline_warning_hours: int = setting(24, "remind assignees this long before a deadline")
    yellow_hours: int = setting(24, "an assignment is yellow this long before its deadline")
    dispatch_interval_seconds: int = setting(10, "how often the outbox is drained")
    misfire_grace_seconds: int = setting(3600, "a job delayed by this much still runs")
    office_openids: list[str] = setting([], "WeChat openids of office staff who receive notices")
    township_office_openids: dict[str, list[str]] = setting(
        {},
        "a county: each township's office openids, keyed by township name "
        "(told of their own township's notices, besides office_openids)",
    )


@dataclass
class HolidaysConfig:
    """[holidays]"""

    # TOML dates (2026-02-14) and strings ("2026-02-14") are both accepted (storage/workdays.py reads either)
    extra_workdays: list[date | str] = setting([], "dates (YYYY-MM-DD) the office declares working days")
    extra_holidays: list[date | str] = setting([], "dates (YYYY-MM-DD) the office declares days off")


@dataclass
class ScoreConfig:
    """[score]"""

    # Defaults follow the seed's 「对联户情况和中心工作落实情况」 (docs/assessment.md "权重"): every one of the
    # 五个一 weighs (form, card, publicity and commitment through the ledger; the diary; the cards), and
    # villagers' answers weigh 15, not 25.
    diary: float = setting(30.0, "weight of diary coverage (days written / working days owed)")
    summary: float = setting(10.0, "weight of the monthly summary (on time: full, late: half)")
    tasks: float = setting(25.0, "weight of supervision cards fed back on time")
    requests: float = setting(10.0, "weight of villager requests answered within the time limit")
    satisfaction: float = setting(5.0, "weight of villagers' satisfaction")
    ledger: float = setting(
        20.0, "weight of 五个一 ledger completion (form, card, publicity, commitment; 0 = not counted)"
    )
    min_diary_share: float = setting(0.6, "cadres below this diary coverage are listed as below the minimum")
    min_households: int = setting(30, "cadres linked to fewer households are listed as below the minimum")
    provisional_workdays: int = setting(
        5, "a period's ranking is shown as provisional until this many of its working days have passed"
    )


@dataclass
class ProgrammeConfig:
    """[programme]: the office's deadlines for the 五个一 duties done once per household (issue 15 item 8).

    Before each date the bound cadres still missing one are reminded (job duty_reminders), and the office is told
    who is behind."""

    cards_due: str = setting(
        "", "date (YYYY-MM-DD) by which every household has its service card; empty = no deadline"
    )
    commitments_due: str = setting(
        "", "date by which every commitment letter (承诺书) is signed; empty = no deadline"
    )
    forms_due: str = setting(
        "", "date by which every information form (登记表) is complete; empty = no deadline"
    )
    remind_days_before: list[int] = setting(
        [14, 7, 3, 1], "remind this many days before each date (0 = on the day)"
    )


@dataclass
class ConsoleConfig:
    """[console]"""

    secret_key: str = setting(
        "",
        "signs console cookies and keys binding codes' HMACs; empty = the key `lianxin init` made and kept in "
        "the database (shared by every worker)",
    )
    session_minutes: int = setting(60, "idle console sessions expire after this long")
    session_hours: int = setting(
        12, "a console session ends this long after login however active it is (then log in again)"
    )
    secure_cookies: bool = setting(False, "mark cookies Secure (always so when public_url is https)")
    login_attempts: int = setting(
        5, "wrong passwords for one account before it is locked for 15 minutes (the office is told)"
    )
    trusted_proxies: list[str] = setting(
        [],
        "addresses or networks (CIDR) of reverse proxies (nginx) whose X-Forwarded-For is believed; "
        "empty = the connecting address is the client",
    )
    simulator: bool = setting(
        False, "offer the chat simulator (/simulator) to the office; `lianxin demo` turns it on"
    )
    import_upload_hours: int = setting(
        24, "an uploaded link list not confirmed within this many hours is deleted (it holds every household)"
    )


@dataclass
class Config:
    """The resolved configuration, one typed section per TOML table: ``config.wechat.app_id``."""

    general: GeneralConfig = section(GeneralConfig)
    database: DatabaseConfig = section(DatabaseConfig)
    wechat: WechatConfig = section(WechatConfig)
    # [wechat.templates] holds one table per kind of push, [wechat.templates.KIND] (see TEMPLATE_VALUE_NAMES)
    templates: dict[str, TemplateConfig] = section(_default_templates, "wechat.templates")
    menu: MenuConfig = section(MenuConfig, "wechat.menu")
    sla: SlaConfig = section(SlaConfig)
    scheduler: SchedulerConfig = section(SchedulerConfig)
    holidays: HolidaysConfig = section(HolidaysConfig)
    score: ScoreConfig = section(ScoreConfig)
    programme: ProgrammeConfig = section(ProgrammeConfig)
    console: ConsoleConfig = section(ConsoleConfig)
    # where the values came from, for messages; not part of the configuration itself (``==`` ignores them)
    source: str = field(default="built-in defaults", compare=False)
    overrides: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.general.timezone)

    @property
    def database_url(self) -> str:
        return self.database.url

    @property
    def public_url(self) -> str:
        """Where users reach the product (PRODUCT.md: ``[wechat] public_url``; ``[general]`` is its older place)."""
        url = self.wechat.public_url or self.general.public_url or "http://127.0.0.1:8000"
        return url.rstrip("/")

    @property
    def safe_mode(self) -> bool:
        return bool(self.wechat.encoding_aes_key)


def _tables(config: Config) -> dict[str, Any]:
    """TOML table name -> the dataclass holding its keys ([wechat.templates] itself holds none: None)."""
    out: dict[str, Any] = {}
    for f in fields(Config):
        if "section" not in f.metadata:
            continue
        name = f.metadata["section"] or f.name
        value = getattr(config, f.name)
        if isinstance(value, dict):
            out[name] = None
            out.update({f"{name}.{kind}": table for kind, table in value.items()})
        else:
            out[name] = value
    return out


def _keys(table: Any, name: str) -> dict[str, tuple[type, Any, str]]:
    if table is None:
        return {}
    hints = get_type_hints(type(table))
    assert is_dataclass(table)
    kind = name.rpartition(".")[2]
    out: dict[str, tuple[type, Any, str]] = {}
    for f in fields(table):
        doc = f.metadata["doc"]
        if isinstance(table, TemplateConfig):
            doc = doc.format(what=_KIND_DOC[kind], names=", ".join(TEMPLATE_VALUE_NAMES[kind]))
        out[f.name] = (get_origin(hints[f.name]) or hints[f.name], getattr(table, f.name), doc)
    return out


# TOML table -> key -> (type, default, description): derived from the dataclasses above, for those who need the
# table (tests/test_config.py checks config.example.toml against it; merge() checks every key against it).
SCHEMA: dict[str, dict[str, tuple[type, Any, str]]] = {
    name: _keys(table, name) for name, table in _tables(Config()).items()
}


def template_key_type(key: str) -> str | None:
    """'thing12' -> 'thing', 'character_string3' -> 'character_string'; None when the prefix is not a known type."""
    m = _KEY_RE.match(key)
    if m and m.group("type") in TEMPLATE_KEY_TYPES:
        return m.group("type")
    return None


def template_literal(name: str) -> str | None:
    """The text of a literal value (``"=已受理"`` → ``"已受理"``), or None for a value name."""
    return name[len(LITERAL) :] if isinstance(name, str) and name.startswith(LITERAL) else None


def template_value_known(kind: str, name: str) -> bool:
    """A kind's value name, or a literal: what a template key may be mapped to."""
    literal = template_literal(name)
    return bool(literal.strip()) if literal is not None else name in TEMPLATE_VALUE_NAMES.get(kind, ())


def _check_template_fields(config: Config, source: str) -> None:
    for kind, names in TEMPLATE_VALUE_NAMES.items():
        section = f"wechat.templates.{kind}"
        for key, name in config.templates[kind].fields.items():
            if template_key_type(key) is None:
                raise ConfigError(
                    f"{source}: [{section}] fields: key '{key}' has no known type prefix "
                    f"(a template key is a type and a number, e.g. thing1; types: {', '.join(TEMPLATE_KEY_TYPES)})"
                )
            if not isinstance(name, str) or not template_value_known(kind, name):
                raise ConfigError(
                    f"{source}: [{section}] fields: key '{key}' maps to unknown value {name!r}; "
                    f'a {kind} push offers: {", ".join(names)} (or a fixed text written "=text")'
                )


# duty -> the [programme] key holding its deadline
PROGRAMME_DUE_KEYS: dict[str, str] = {
    "card": "cards_due",
    "commitment": "commitments_due",
    "form": "forms_due",
}


def programme_dates(config: Config) -> dict[str, date]:
    """duty ("card", "commitment", "form") -> its deadline, for the deadlines the office has set."""
    section = config.programme
    return {
        duty: date.fromisoformat(getattr(section, key))
        for duty, key in PROGRAMME_DUE_KEYS.items()
        if getattr(section, key)
    }


def _check_programme(section: ProgrammeConfig, source: str) -> None:
    for key in PROGRAMME_DUE_KEYS.values():
        value = getattr(section, key)
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ConfigError(
                    f"{source}: [programme] {key} must be a date YYYY-MM-DD, got {value!r}"
                ) from None
    days = section.remind_days_before
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 366 for d in days):
        raise ConfigError(
            f"{source}: [programme] remind_days_before must be a list of whole days 0–366, got {days!r}"
        )


def trusted_networks(config: Config) -> tuple[IPv4Network | IPv6Network, ...]:
    """``[console] trusted_proxies`` as networks (a bare address is a network of one)."""
    return tuple(ip_network(str(p).strip(), strict=False) for p in config.console.trusted_proxies)


def _check_trusted_proxies(section: ConsoleConfig, source: str) -> None:
    for p in section.trusted_proxies:
        try:
            ip_network(str(p).strip(), strict=False)
        except ValueError:
            raise ConfigError(
                f"{source}: [console] trusted_proxies: {p!r} is not an address or network "
                '(e.g. "127.0.0.1" or "10.0.0.0/8")'
            ) from None


def _check_township_offices(table: dict[str, Any], source: str) -> None:
    for name, openids in table.items():
        if not isinstance(openids, list) or not all(isinstance(o, str) and o for o in openids):
            raise ConfigError(
                f"{source}: [scheduler.township_office_openids] {name} must be a list of openids, "
                f"got {openids!r}"
            )


def _type_name(t: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }[t]


def _check_type(value: Any, expected: type) -> Any:
    """Return the value coerced to the expected type, or raise TypeError."""
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, bool):
        raise TypeError
    if not isinstance(value, expected):
        raise TypeError
    return value


def _flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """{"wechat": {"token": .., "templates": {..}}} -> {"wechat": {...}, "wechat.templates": {...}}"""
    out: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if name not in SCHEMA:
                raise ConfigError(f"unknown section [{name}]; known sections: {', '.join(sorted(SCHEMA))}")
            out.setdefault(name, {})
            for k, v in value.items():
                if isinstance(v, dict) and SCHEMA[name].get(k, (None,))[0] is not dict:
                    out.update(_flatten({k: v}, prefix=f"{name}."))
                else:
                    out[name][k] = v
        else:
            raise ConfigError(f"key '{name}' must be inside a section such as [general]")
    return out


# Keys that once existed: section -> key -> (the value that changes nothing and is still accepted, why it went).
# Any other value stops start-up with the reason, so nobody believes a removed switch is still on.
REMOVED: dict[str, dict[str, tuple[Any, str]]] = {
    "wechat": {
        "push_api": (
            "template",
            '[wechat] push_api = "subscribe" (订阅通知, message/subscribe/bizsend) was removed: 订阅通知 reach only '
            "users who subscribed to each template through a component on a page, from the account's own "
            "订阅通知 template library, and are refused with 43101 otherwise — every push would have failed. "
            "Pushes outside the 48-hour window are template messages ([wechat.templates.KIND]). Delete the "
            "push_api line. / 订阅通知方式已取消：用户须在网页组件里逐个订阅，否则微信以 43101 拒收；"
            "请删除 push_api 这一行，48 小时之外的推送用模板消息。",
        ),
    },
}


def merge(config: Config, layer: dict[str, dict[str, Any]], source: str) -> None:
    """Set the keys of ``layer`` (TOML table -> key -> value) on ``config``, each checked against ``SCHEMA``."""
    tables = _tables(config)
    for section, keys in layer.items():
        if section not in SCHEMA:
            raise ConfigError(f"{source}: unknown section [{section}]; known: {', '.join(sorted(SCHEMA))}")
        for key, value in keys.items():
            removed = REMOVED.get(section, {}).get(key)
            if removed is not None:
                if value == removed[0]:
                    continue  # what happens anyway: an old config.toml copied from the example still starts
                raise ConfigError(f"{source}: {removed[1]}")
            if key not in SCHEMA[section]:
                known = ", ".join(sorted(SCHEMA[section]))
                raise ConfigError(f"{source}: unknown key '{key}' in [{section}]; known keys: {known}")
            expected = SCHEMA[section][key][0]
            try:
                setattr(tables[section], key, _check_type(value, expected))
            except TypeError:
                raise ConfigError(
                    f"{source}: [{section}] {key} must be {_type_name(expected)}, got {value!r}"
                ) from None


def find_config_file(explicit: str | os.PathLike[str] | None) -> Path | None:
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist")
        return p
    env = os.environ.get("LIANXIN_CONFIG")
    if env:
        p = Path(env)
        if not p.is_file():
            raise ConfigError(f"config file {p} (from $LIANXIN_CONFIG) does not exist")
        return p
    p = Path("config.toml")
    return p if p.is_file() else None


def load_config(
    path: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """defaults -> file (--config, $LIANXIN_CONFIG, ./config.toml) -> $LIANXIN_DATABASE_URL -> overrides.

    ``overrides`` uses dotted keys: ``{"database.url": "sqlite://", "wechat.templates.task.id": "T1"}``.
    """
    env = os.environ if env is None else env
    config = Config()
    source = "built-in defaults"
    file = find_config_file(path)
    if file is not None:
        source = str(file)
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError as e:
            raise ConfigError(f"{file}: not UTF-8 text ({e})") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{file}: not valid TOML: {e}") from None
        try:
            layer = _flatten(raw)
        except ConfigError as e:
            raise ConfigError(f"{file}: {e}") from None
        merge(config, layer, str(file))
    if env.get("LIANXIN_DATABASE_URL"):
        config.database.url = env["LIANXIN_DATABASE_URL"]
    ov: dict[str, dict[str, Any]] = {}
    for dotted, value in (overrides or {}).items():
        table, _, key = dotted.rpartition(".")
        ov.setdefault(table, {})[key] = value
    merge(config, ov, "overrides")
    config.source, config.overrides = source, dict(overrides or {})
    _check(config, source)
    return config


def _check(config: Config, source: str) -> None:
    """What a key's type alone does not say; each failure names the key."""
    try:
        ZoneInfo(config.general.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{source}: [general] timezone {config.general.timezone!r} is not a known time zone"
        ) from None
    _check_template_fields(config, source)
    _check_programme(config.programme, source)
    if not 1 <= config.general.bind_code_hours <= BIND_CODE_MAX_HOURS:
        raise ConfigError(
            f"{source}: [general] bind_code_hours must be 1–{BIND_CODE_MAX_HOURS} "
            f"(a binding code lives {BIND_CODE_MAX_HOURS} hours at most), "
            f"got {config.general.bind_code_hours!r}"
        )
    _check_township_offices(config.scheduler.township_office_openids, source)
    _check_trusted_proxies(config.console, source)
    aes = config.wechat.encoding_aes_key
    if aes and len(aes) != 43:
        raise ConfigError(f"{source}: [wechat] encoding_aes_key must be 43 characters (it is {len(aes)})")
