"""What must never be written down or shown whole (issue 21 items 3 and 10), as one set of rules.

- ``redact(text)`` for log lines: a URL's query string goes (console search terms — phones, card numbers,
  health words —, ``/wechat``'s signature, timestamp, nonce and openid, the WeChat API's ``access_token``, the
  web-OAuth ``code`` and ``secret``), the token of a ``/m/<token>`` page goes, ``key=value`` and JSON forms of
  credentials go, and phone-, ID-number- and card-number-like digit runs are masked.
- ``mask_personal_numbers(text)`` for pages under ``public_url``: phone-like (11 digits starting with 1) and
  ID-number-like (15 or 18 characters) runs shown masked, as the console masks phones in lists — also written
  with spaces, hyphens, +86 or full-width digits (``number_runs`` finds them; storage.cards uses it too).
"""

from __future__ import annotations

import re

_PAGE_TOKEN = re.compile(r"(/m/)[A-Za-z0-9_\-]{8,}")
_QUERY = re.compile(r"(?<=[^\s?=&\"'])\?[^\s\"'<>]+")
_CREDENTIAL = re.compile(
    r"\b(access_token|refresh_token|secret|appsecret|app_secret|code|signature|msg_signature|nonce|echostr"
    r"|openid|password|csrf_token|encoding_aes_key)=[^&\s\"'<>]+",
    re.IGNORECASE,
)
_JSON_CREDENTIAL = re.compile(
    r"([\"'](?:access_token|refresh_token|secret|app_secret|password|code)[\"']\s*:\s*[\"'])[^\"']*",
    re.IGNORECASE,
)
# Digit runs: an ID number (18 with a final check character, or the old 15), a mobile phone (11, starting with 1),
# a service card number (8). Bounded by non-digits so longer numbers (WeChat MsgIds, timestamps) stay whole.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
_CARD_LIKE = re.compile(r"(?<!\d)\d{4}(\d{4})(?!\d)")
# The same numbers as people type them: full-width digits (一二 keyboards), a +86 in front, groups split by a
# space, a hyphen or a full-width space (138-1234-5678, 110105 19491231 0021, 2026 1124).
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ＋－", "0123456789Xx+-")
_SPACED_RUN = re.compile(r"(?<![0-9A-Za-z])\+?\d(?:\d|[ \-\u3000](?=\d)){6,22}[\dXx]?(?![0-9A-Za-z])")


def number_runs(text: str) -> list[tuple[int, int, str]]:
    """Every run of digits in ``text`` as people write them — spaced, hyphenated, full-width, after +86 — as
    (start, end, the digits alone). What the masks below and storage.cards.mask_card_numbers look at."""
    plain = text.translate(_FULL_WIDTH)  # same length: one character for one
    runs = []
    for m in _SPACED_RUN.finditer(plain):
        digits = re.sub(r"[^0-9Xx]", "", m.group(0))
        if m.group(0).startswith("+") and digits.startswith("86"):
            digits = digits[2:]
        runs.append((m.start(), m.end(), digits))
    return runs


def _mask_run(digits: str) -> str | None:
    """How a run of these digits is shown, or None when it is neither a phone nor an ID number."""
    if len(digits) == 11 and digits.startswith("1") and digits.isdigit():
        return digits[:3] + "****" + digits[-4:]
    if (len(digits) == 18 and digits[:17].isdigit()) or (len(digits) == 15 and digits.isdigit()):
        return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]
    return None


def mask_runs(text: str, masked: dict[str, str]) -> str:
    """``text`` with each number run whose digits are in ``masked`` replaced by what it maps to."""
    out, at = [], 0
    for start, end, digits in number_runs(text):
        if digits in masked:
            out += [text[at:start], masked[digits]]
            at = end
    return "".join(out) + text[at:]


def mask_phone(phone: str | None) -> str:
    """138****5678: phones are masked in lists and logs (the console, chat lists, who did what)."""
    if not phone:
        return ""
    p = str(phone)
    return p[:3] + "****" + p[-4:] if len(p) >= 8 else "****"


def redact_path(path: str) -> str:
    """A request path for a log: no query, no page token."""
    return _PAGE_TOKEN.sub(r"\1…", path.split("?", 1)[0])


def mask_personal_numbers(text: str) -> str:
    """Phone- and ID-number-like digit runs masked (``138****2222``, ``1101************3X``), also as people
    type them (``138-1234-5678``, ``+86 138…``, full-width digits, an ID number in groups)."""
    text = _ID_NUMBER.sub(lambda m: m.group(0)[:4] + "*" * (len(m.group(0)) - 6) + m.group(0)[-2:], text)
    text = _PHONE.sub(r"\1****\2", text)
    shown = {d: m for _s, _e, d in number_runs(text) if (m := _mask_run(d)) is not None}
    return mask_runs(text, shown) if shown else text


def redact(text: str) -> str:
    """A log line with nothing in it that lets anyone in or names anyone (see the module)."""
    text = _PAGE_TOKEN.sub(r"\1…", text)
    text = _QUERY.sub("?…", text)
    text = _CREDENTIAL.sub(r"\1=…", text)
    text = _JSON_CREDENTIAL.sub(r"\1…", text)
    text = mask_personal_numbers(text)
    return _CARD_LIKE.sub(r"****\1", text)
