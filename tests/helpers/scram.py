"""A SCRAM client done by hand on a raw stream (RFC 5802, RFC 7677 for SHA-256; SHA-512 by the
same rules), with the RFC 5929 `tls-server-end-point` channel binding computed from the server's
certificate, so the tests see exactly what goes over the wire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .c2s_stack import NS_SASL
from .rawxmpp import RawStream

HASHES = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}


def tls_server_end_point(der: bytes) -> bytes:
    """RFC 5929 §4.1: the certificate hashed with its signature's hash; MD5 and SHA-1 become
    SHA-256."""
    algorithm = x509.load_der_x509_certificate(der).signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        return hashlib.sha256(der).digest()
    return hashlib.new(algorithm.name, der).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _saslname(name: str) -> str:
    """RFC 5802 §5.1: ',' and '=' escaped in names."""
    return name.replace("=", "=3D").replace(",", "=2C")


@dataclass
class Outcome:
    """How the server answered: `<success/>` (with its signature checked) or `<failure/>`."""
    element: ET.Element
    server_signature_ok: bool = False

    @property
    def success(self) -> bool:
        return self.element.tag == f"{{{NS_SASL}}}success"

    @property
    def condition(self) -> str | None:
        if self.element.tag != f"{{{NS_SASL}}}failure":
            return None
        return next((c.tag.split("}", 1)[1] for c in self.element if not c.tag.endswith("}text")), None)


def scram_auth(s: RawStream, mechanism: str, user: str, password: str, *, cb_type: str | None = None,
               cb_data: bytes = b"", flag: str | None = None, authzid: str | None = None) -> Outcome:
    """One SCRAM exchange. `mechanism` may end in -PLUS (then `cb_type`/`cb_data` bind the
    channel). `flag` overrides the GS2 channel-binding flag ('n', 'y' or 'p=<type>')."""
    base = mechanism.removesuffix("-PLUS")
    digest = HASHES[base]
    if flag is None:
        flag = f"p={cb_type}" if mechanism.endswith("-PLUS") else "n"
    gs2_header = f"{flag},{'a=' + _saslname(authzid) if authzid else ''},"
    client_nonce = secrets.token_urlsafe(18)
    first_bare = f"n={_saslname(user)},r={client_nonce}"
    s.send(f"<auth xmlns='{NS_SASL}' mechanism='{mechanism}'>{_b64((gs2_header + first_bare).encode())}</auth>")
    challenge = s.next_element()
    if challenge.tag != f"{{{NS_SASL}}}challenge":
        return Outcome(challenge)
    server_first = base64.b64decode(challenge.text or "").decode()
    attrs = dict(part.split("=", 1) for part in server_first.split(","))
    assert attrs["r"].startswith(client_nonce), server_first
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    channel = gs2_header.encode() + (cb_data if flag.startswith("p=") else b"")
    final_bare = f"c={_b64(channel)},r={attrs['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    client_key = hmac.digest(salted, b"Client Key", digest)
    signature = hmac.digest(hashlib.new(digest, client_key).digest(), auth_message, digest)
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    s.send(f"<response xmlns='{NS_SASL}'>{_b64(f'{final_bare},p={_b64(proof)}'.encode())}</response>")
    answer = s.next_element()
    if answer.tag != f"{{{NS_SASL}}}success":
        return Outcome(answer)
    server_key = hmac.digest(salted, b"Server Key", digest)
    expected = "v=" + _b64(hmac.digest(server_key, auth_message, digest))
    return Outcome(answer, base64.b64decode(answer.text or "").decode() == expected)
