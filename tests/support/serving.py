"""Serving a WSGI app for a test on a real loopback socket (threaded werkzeug server), in http or https."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def serve_in_thread(app: Any, *, tls: Path | None = None) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port in a background thread; yields the base URL, stops after.

    ``tls``: a folder holding ``cert.pem`` and ``key.pem`` (``self_signed_cert``): served over https."""
    context = None
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls / "cert.pem", tls / "key.pem")
    srv = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"{'https' if context else 'http'}://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        t.join(10)


def self_signed_cert(folder: Path | None = None) -> Path:
    """A certificate for 127.0.0.1 signed by itself (``cert.pem``, ``key.pem`` in ``folder``): point
    ``REQUESTS_CA_BUNDLE`` at ``cert.pem`` and requests trusts the test server as it would a real one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = Path(folder or tempfile.mkdtemp(prefix="lianxin-tls-"))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)  # real time: the TLS library checks validity against it
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder
