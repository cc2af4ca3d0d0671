"""starling-c2s test stacks: starling-router, jabberd2's sm (the Starling sm may not exist yet) and
starling-c2s with its own SQLite account store; plus slixmpp clients that use STARTTLS or direct
TLS against c2s's self-signed certificate, and a raw-socket login for the stream-error tests.

Every wait is bounded and waits for a condition (a port, a log line, a stanza).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Optional

from .ports import LOOPBACK, free_port
from .rawxmpp import NS_STREAM, RawStream, wait_c2s_ready
from .starling import DaemonHandle, start_daemon
from .xmpp import DEFAULT_TIMEOUT, ChatClient, RegisterClient, RegistrationFailed, _disconnect

DOMAIN = "localhost"
SM_USER = "jabberd"
SM_PASSWORD = "sm-router-secret"
C2S_USER = "c2s"
C2S_PASSWORD = "c2s-router-secret"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_REGISTER = "jabber:iq:register"


def router_config(port: int) -> dict:
    return {
        "id": "router",
        "listen": [f"{LOOPBACK}:{port}"],
        "jabberd2_compat": True,
        "users": {
            SM_USER: {"password": SM_PASSWORD, "bind": ["*"]},
            C2S_USER: {"password": C2S_PASSWORD, "bind": ["c2s"]},
        },
    }


@dataclass
class C2s:
    handle: DaemonHandle
    host: str
    port: int
    tls_port: int

    @property
    def process(self):
        return self.handle.process


def start_c2s(workdir: Path, processes, router, *, registration: bool = True, limits: Optional[dict] = None,
              host: Optional[dict] = None, wait_ready: bool = True, name: str = "starling-c2s",
              storage: str = "c2s-accounts.db", router_login: tuple[str, str] = (C2S_USER, C2S_PASSWORD)) -> C2s:
    port, tls_port = free_port(), free_port()
    config = {
        "id": "c2s",
        "listen": [f"{LOOPBACK}:{port}"],
        "direct_tls_listen": [f"{LOOPBACK}:{tls_port}"],
        "router": {"addresses": [f"{router.host}:{router.port}"], "user": router_login[0], "password": router_login[1]},
        "storage": {"path": storage},
        "hosts": {DOMAIN: {"registration": registration, **(host or {})}},
        "limits": {"auth_failure_delay_ms": 200, **(limits or {})},
    }
    handle = start_daemon(workdir, processes, "starling-c2s", config, name=name, ready_port=(LOOPBACK, port))
    c2s = C2s(handle, LOOPBACK, port, tls_port)
    if wait_ready:
        # Ready once the router has advertised the sm's domain to c2s (host-gone before that).
        wait_c2s_ready(LOOPBACK, port, DOMAIN, timeout=20)
    return c2s


def start_sm(jabberd2, router):
    suite = jabberd2(domain=DOMAIN, router_host=router.host, router_port=router.port,
                     router_user=SM_USER, router_password=SM_PASSWORD)
    suite.start_sm()
    return suite


def no_verify() -> ssl.SSLContext:
    """c2s's certificate is self-signed: these clients do not verify it."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# -- slixmpp over TLS ----------------------------------------------------------------------


def _tls(client, direct: bool) -> None:
    client.enable_plaintext = False
    client.enable_starttls = not direct
    client.enable_direct_tls = direct
    client.ssl_context = no_verify()


class TlsRegisterClient(RegisterClient):
    def __init__(self, jid: str, password: str) -> None:
        super().__init__(jid, password)
        _tls(self, direct=False)


async def register_tls(host: str, port: int, jid: str, password: str, timeout: float = DEFAULT_TIMEOUT):
    client = TlsRegisterClient(jid, password)
    client.connect(host, port)
    try:
        return await asyncio.wait_for(asyncio.shield(client.outcome), timeout)
    except asyncio.TimeoutError:
        raise RegistrationFailed(f"registration of {jid} did not finish within {timeout}s")
    finally:
        await _disconnect(client)


class TlsChatClient(ChatClient):
    """ChatClient over STARTTLS (or direct TLS) with SCRAM-SHA-256 by default; keeps stream errors."""

    def __init__(self, jid: str, password: str, sasl_mech: str = "SCRAM-SHA-256", direct: bool = False) -> None:
        super().__init__(jid, password, sasl_mech=sasl_mech)
        _tls(self, direct)
        self.stream_error_future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.add_event_handler("stream_error", self._keep_stream_error)

    def _keep_stream_error(self, err) -> None:
        if not self.stream_error_future.done():
            self.stream_error_future.set_result(err["condition"])


@contextlib.asynccontextmanager
async def tls_client(host: str, port: int, jid: str, password: str, timeout: float = DEFAULT_TIMEOUT, **kw) -> AsyncIterator[TlsChatClient]:
    client = TlsChatClient(jid, password, **kw)
    try:
        await client.login(host, port, timeout)
        yield client
    finally:
        await client.close()


# -- raw streams -----------------------------------------------------------------------------


def open_stream(s: RawStream, domain: str = DOMAIN, extra: str = "") -> ET.Element:
    """Send a client stream header (a new stream: the parser restarts too) and return the
    features that answer it."""
    s.parser = ET.XMLPullParser(events=("start", "end"))
    s.depth = 0
    s.header = None
    s.send(f"<?xml version='1.0'?><stream:stream xmlns:stream='{NS_STREAM}' xmlns='jabber:client' "
           f"to='{domain}' version='1.0'{extra}>")
    s.read_header()
    return s.next_element()


def starttls(s: RawStream, domain: str = DOMAIN) -> ET.Element:
    """STARTTLS on a raw stream whose features offered it; returns the new features."""
    s.send(f"<starttls xmlns='{NS_TLS}'/>")
    proceed = s.next_element()
    assert proceed.tag == f"{{{NS_TLS}}}proceed", proceed.tag
    s.sock = no_verify().wrap_socket(s.sock, server_hostname=domain)
    return open_stream(s, domain)


def raw_tls(host: str, port: int, domain: str = DOMAIN) -> tuple[RawStream, ET.Element]:
    s = RawStream(host, port)
    features = open_stream(s, domain)
    return s, starttls(s, domain)


def plain_auth(s: RawStream, user: str, password: str) -> ET.Element:
    """SASL PLAIN (TLS is up); returns <success/> or <failure/>."""
    data = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    s.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{data}</auth>")
    return s.next_element()


def raw_login(host: str, port: int, user: str, password: str, resource: str, domain: str = DOMAIN) -> RawStream:
    """A raw stream with TLS, SASL PLAIN and a bound resource."""
    s, _ = raw_tls(host, port, domain)
    answer = plain_auth(s, user, password)
    assert answer.tag == f"{{{NS_SASL}}}success", ET.tostring(answer)
    open_stream(s, domain)
    s.send(f"<iq type='set' id='bind1'><bind xmlns='{NS_BIND}'><resource>{resource}</resource></bind></iq>")
    result = s.next_element()
    assert result.get("type") == "result", ET.tostring(result)
    return s
