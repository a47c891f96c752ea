"""Probe a running lianxin as WeChat would: GET the URL check, POST one signed text message, read the reply.

Run with the deployer's own venv (so it uses only what `pip install .` brought: werobot's crypto for safe
mode). Exits non-zero, naming the step, when any step fails.
  python deploy_probe.py BASE_URL TOKEN APP_ID [ENCODING_AES_KEY]
"""

from __future__ import annotations

import hashlib
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def fail(step: str, detail: str) -> None:
    print(f"deploy-probe: FAILED at {step}: {detail}", file=sys.stderr)
    sys.exit(1)


def fetch(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "text/xml"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def main() -> None:
    base, token, app_id = sys.argv[1], sys.argv[2], sys.argv[3]
    aes_key = sys.argv[4] if len(sys.argv) > 4 else ""
    status, body = fetch(f"{base}/healthz")
    if status != 200 or b'"ok"' not in body:
        fail("/healthz", f"{status} {body[:200]!r}")

    ts, nonce, echo = str(int(time.time())), secrets.token_hex(8), "probe-echo-" + secrets.token_hex(4)
    q = urllib.parse.urlencode(
        {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": echo}
    )
    status, body = fetch(f"{base}/wechat?{q}")
    if status != 200 or body.decode() != echo:
        fail("URL check (GET /wechat)", f"{status} {body[:200]!r}")

    plain = (
        "<xml><ToUserName><![CDATA[gh_probe]]></ToUserName><FromUserName><![CDATA[o-deploy-probe]]>"
        f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[帮助]]></Content><MsgId>{secrets.randbelow(10**12)}</MsgId></xml>"
    )
    params = {
        "signature": sign(token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "openid": "o-deploy-probe",
    }
    if aes_key:
        import base64

        from werobot.crypto import PrpCrypto  # the deployer's venv: werobot + cryptography, nothing else

        key = base64.b64decode(aes_key + "=")
        encrypted = PrpCrypto(key).encrypt(plain, app_id).decode()
        params.update(encrypt_type="aes", msg_signature=sign(token, ts, nonce, encrypted))
        body_out = f"<xml><ToUserName><![CDATA[gh_probe]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    else:
        body_out = plain
    status, body = fetch(f"{base}/wechat?{urllib.parse.urlencode(params)}", body_out.encode())
    if status != 200:
        fail("signed message (POST /wechat)", f"{status} {body[:300]!r}")
    root = ET.fromstring(body)
    if aes_key:
        enc = root.findtext("Encrypt")
        if not enc:
            fail("safe-mode reply", f"no <Encrypt> in {body[:300]!r}")
        if root.findtext("MsgSignature") != sign(
            token, root.findtext("TimeStamp") or "", root.findtext("Nonce") or "", enc
        ):
            fail("safe-mode reply", "reply signature does not verify")
        root = ET.fromstring(PrpCrypto(key).decrypt(enc, app_id))
    content = root.findtext("Content") or ""
    if root.findtext("MsgType") != "text" or not content.strip():
        fail("reply", f"not a text reply: {body[:300]!r}")
    print(f"deploy-probe: ok ({'safe' if aes_key else 'plain'} mode): reply begins {content.strip()[:30]!r}")


if __name__ == "__main__":
    main()
