"""Inbound WeChat: signatures, safe-mode crypto and the XML, turned into ``handlers.base.Message``.

The Flask route that applies these checks is bot/wechat/endpoint.py; the outbound API client is
bot/wechat/api.py.

Order of checks on a POST (each refusal stores nothing):
1. body size ([wechat] max_body_bytes) → 400;
2. the URL signature (token, timestamp, nonce) → 403, before a byte of the body is parsed;
3. the timestamp within [wechat] timestamp_tolerance_seconds of lx.now() → 403 (a replayed request);
4. the XML, parsed with defusedxml (no DTD, no entities, no external references) → 400;
5. ``encrypt_type=aes`` with a key: msg_signature over the Encrypt element → 403; AES decryption and AppID
   → 400 (and counted for `lianxin wechat check`: the key does not fit); the inner XML parsed with defusedxml
   again → 400. Without ``encrypt_type`` (or ``raw``) the body is plain, with a key set or not (WeChat's
   兼容模式: a key set before the account switches modes loses nothing); the reply follows the message;
6. one signed query, one message: the same query with another message → 403 (storage/wechat_edge.py).
Then the message becomes a ``handlers.base.Message`` (the handlers never see werobot) and bot.dispatch
handles it once. The reply goes back as werobot's TextReply XML, encrypted in safe mode.

Why not werobot's parser and WeRoBot app: werobot parses with xmltodict (entities allowed), swallows
handler exceptions into an empty answer, and its ImageMessage drops MediaId; we keep its signature,
crypto and reply rendering, which are small and correct.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from werobot.crypto import PrpCrypto
from werobot.replies import TextReply
from werobot.utils import get_signature

from handlers.base import Message

KNOWN_KINDS = ("text", "voice", "image", "location", "link", "video", "shortvideo", "event")


class BadRequest(Exception):
    """The body cannot be read: answer 400, store nothing."""


class Forbidden(Exception):
    """A signature or timestamp check failed: answer 403, store nothing."""


class CannotDecrypt(BadRequest):
    """The Encrypt element is signed right but our EncodingAESKey / AppID does not open it: 400."""


# ------------------------------------------------------------------------------------- signing (public)


def sign(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    """WeChat's signature: sha1 of the sorted strings (token, timestamp, nonce[, encrypt]).
    Exported for the console's chat simulator and the tests, which sign requests the way WeChat does."""
    return get_signature(token, str(timestamp), str(nonce), *extra)


def signed_query(token: str, timestamp: int | str, nonce: str | None = None) -> dict[str, str]:
    """The query string of a plain-mode POST: {"signature", "timestamp", "nonce"}."""
    nonce = nonce or secrets.token_hex(5)
    return {"signature": sign(token, str(timestamp), nonce), "timestamp": str(timestamp), "nonce": nonce}


def message_xml(
    openid: str,
    kind: str,
    *,
    create_time: int,
    to: str = "gh_lianxin",
    msg_id: int | None = None,
    **fields: Any,
) -> str:
    """Build an inbound message XML as WeChat sends it (fields by WeChat's element names: Content, Event…)."""
    parts = [
        f"<ToUserName><![CDATA[{to}]]></ToUserName>",
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
        f"<CreateTime>{create_time}</CreateTime>",
        f"<MsgType><![CDATA[{kind}]]></MsgType>",
    ]
    for name, value in fields.items():
        parts.append(f"<{name}><![CDATA[{_cdata(str(value))}]]></{name}>")
    if msg_id is not None:
        parts.append(f"<MsgId>{msg_id}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def _cdata(text: str) -> str:
    return text.replace("]]>", "]]]]><![CDATA[>")


# ------------------------------------------------------------------------------------------ crypto


class SafeMode:
    """WeChat's 安全模式: AES-256-CBC with the EncodingAESKey (werobot's PrpCrypto), signed Encrypt blobs."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=")
        except ValueError as e:
            raise ValueError("[wechat] encoding_aes_key is not valid base64") from e
        if len(key) != 32:
            raise ValueError("[wechat] encoding_aes_key must be 43 characters (32 bytes base64)")
        self.prp = PrpCrypto(key)
        self.token = token
        self.app_id = app_id

    def decrypt(self, encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> bytes:
        expected = sign(self.token, timestamp, nonce, encrypt)
        # Bytes: compare_digest refuses non-ASCII str (a forged signature must be a 403, not a TypeError → 500).
        if not hmac.compare_digest(
            expected.encode(), (msg_signature or "").encode("utf-8", "surrogateescape")
        ):
            raise Forbidden("bad msg_signature")
        try:
            plain = self.prp.decrypt(encrypt, self.app_id)
        except Exception as e:  # werobot raises AppIdValidationError, binascii/struct/ValueError on garbage
            raise CannotDecrypt(f"cannot decrypt: {e.__class__.__name__}") from e
        return bytes(plain)

    def encrypt(self, xml: str, timestamp: str) -> str:
        nonce = secrets.token_hex(5)
        encrypted = self.prp.encrypt(xml, self.app_id).decode()
        signature = sign(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )


# ------------------------------------------------------------------------------------------ parsing


def parse_xml(body: bytes) -> dict[str, str]:
    """The flat {element: text} of a WeChat XML body; defusedxml refuses DTDs, entities, external refs."""
    if not body or not body.strip():
        raise BadRequest("empty body")
    try:
        root: Element = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, UnicodeError) as e:
        raise BadRequest(f"malformed XML: {e.__class__.__name__}") from e
    if root.tag != "xml":
        raise BadRequest("root element is not <xml>")
    out: dict[str, str] = {}
    for child in root:
        if len(child):  # nested blocks (ScanCodeInfo, SendPicsInfo): keep their leaves as Parent.Child
            for leaf in child.iter():
                if leaf is not child and not len(leaf):
                    out[f"{child.tag}.{leaf.tag}"] = (leaf.text or "").strip()
        else:
            out[child.tag] = child.text or ""
    return out


def to_message(d: dict[str, str]) -> Message:
    """Our transport-free message from WeChat's fields."""
    openid = (d.get("FromUserName") or "").strip()
    if not openid or len(openid) > 64:
        raise BadRequest("no FromUserName")
    try:
        created = datetime.fromtimestamp(int((d.get("CreateTime") or "").strip()), tz=UTC)
    except (ValueError, OverflowError, OSError) as e:
        raise BadRequest("bad CreateTime") from e
    kind = (d.get("MsgType") or "").strip().lower()
    if not kind:
        raise BadRequest("no MsgType")
    msg_id = (d.get("MsgId") or d.get("MsgID") or "").strip() or None
    if msg_id is not None and (len(msg_id) > 64 or not msg_id.isdigit()):
        raise BadRequest("bad MsgId")
    common: dict[str, Any] = {
        "openid": openid,
        "create_time": created,
        "msg_id": msg_id,
        "raw": {k: v for k, v in d.items() if len(v) < 4096},
    }
    if kind not in KNOWN_KINDS:
        return Message(kind="unknown", **common)
    if kind == "event":
        event = (d.get("Event") or "").strip()
        if event.lower() in ("subscribe", "unsubscribe"):
            event = event.lower()
        elif event.lower() == "scan":
            event = "SCAN"
        # Events carry no MsgId: dedup on sender + CreateTime + event (Message.dedup_key).
        common["msg_id"] = None
        return Message(
            kind="event",
            event=event[:40] or None,
            event_key=(d.get("EventKey") or "").strip() or None,
            **common,
        )
    if kind == "text":
        return Message(kind="text", text=d.get("Content") or "", **common)
    if kind == "voice":
        return Message(
            kind="voice",
            text=(d.get("Recognition") or "").strip(),
            media_id=d.get("MediaId") or None,
            **common,
        )
    if kind == "image":
        return Message(
            kind="image", media_id=d.get("MediaId") or None, pic_url=(d.get("PicUrl") or None), **common
        )
    if kind == "location":
        try:
            loc = (float(d.get("Location_X") or 0), float(d.get("Location_Y") or 0), d.get("Label") or "")
        except ValueError as e:
            raise BadRequest("bad location") from e
        return Message(kind="location", location=loc, text=d.get("Label") or "", **common)
    if kind == "link":
        return Message(kind="link", text=f"{d.get('Title') or ''} {d.get('Url') or ''}".strip(), **common)
    return Message(kind=kind, media_id=d.get("MediaId") or None, **common)


def reply_xml(msg: Message, to_account: str, text: str, now: datetime) -> str:
    """werobot's TextReply, with CDATA terminators in our text made harmless."""
    return TextReply(
        target=_cdata(msg.openid), source=_cdata(to_account), time=int(now.timestamp()), content=_cdata(text)
    ).render()
