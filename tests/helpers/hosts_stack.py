"""The all-Starling stack with c2s configured by the test: several domains served by one sm and
one c2s, per-domain certificates, an IPv6 listener. `stack.start_stack` covers the one-domain
case; this is for the listener and certificate tests.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from .c2s_stack import open_stream
from .ports import LOOPBACK, free_port
from .process import ProcessRegistry
from .rawxmpp import RawStream, wait_c2s_ready
from .stack import C2S_PASSWORD, C2S_USER, SM_PASSWORD, SM_USER, STORE
from .starling import DaemonHandle, RouterHandle, start_daemon, start_router

LOOPBACK6 = "::1"


def free_port6() -> int:
    """A TCP port free on [::1] now."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK6, 0))
        return s.getsockname()[1]


def start_router_and_sm(workdir: Path, registry: ProcessRegistry, domains: list[str]) -> RouterHandle:
    """starling-router and a starling-sm serving every domain in `domains`."""
    router = start_router(workdir, registry, {
        "id": "router",
        "listen": [f"{LOOPBACK}:{free_port()}"],
        "users": {
            C2S_USER: {"password": C2S_PASSWORD, "bind": ["c2s"]},
            SM_USER: {"password": SM_PASSWORD, "bind": ["sm", *domains]},
        },
    })
    start_daemon(workdir, registry, "starling-sm", {
        "id": "sm",
        "domains": domains,
        "router": {"addresses": [f"{router.host}:{router.port}"], "user": SM_USER, "password": SM_PASSWORD},
        "storage": {"path": STORE},
    }, ready_log=r"online at the router")
    return router


@dataclass
class HostsC2s:
    handle: DaemonHandle
    port: int
    tls_port: int
    port6: int | None

    @property
    def config_path(self) -> Path:
        return self.handle.config_path


def start_c2s_hosts(workdir: Path, registry: ProcessRegistry, router: RouterHandle, hosts: dict[str, dict], *,
                    ipv6: bool = False, limits: dict | None = None, name: str = "starling-c2s") -> HostsC2s:
    """starling-c2s serving `hosts` (domain -> [hosts.<domain>] table), STARTTLS on 127.0.0.1 (and
    [::1] with `ipv6`), direct TLS on 127.0.0.1. Ready once every domain gets stream features."""
    port, tls_port = free_port(), free_port()
    port6 = free_port6() if ipv6 else None
    config = {
        "id": "c2s",
        "listen": [f"{LOOPBACK}:{port}"] + ([f"[{LOOPBACK6}]:{port6}"] if ipv6 else []),
        "direct_tls_listen": [f"{LOOPBACK}:{tls_port}"],
        "router": {"addresses": [f"{router.host}:{router.port}"], "user": C2S_USER, "password": C2S_PASSWORD},
        "storage": {"path": STORE},
        "hosts": hosts,
        "limits": {"auth_failure_delay_ms": 50, **(limits or {})},
    }
    handle = start_daemon(workdir, registry, "starling-c2s", config, name=name, ready_port=(LOOPBACK, port))
    for domain in hosts:
        wait_c2s_ready(LOOPBACK, port, domain, timeout=20)
    return HostsC2s(handle, port, tls_port, port6)


def no_verify(*, tls12: bool = False, alpn: list[str] | None = None) -> ssl.SSLContext:
    """A client context that does not check the (self-signed) certificate; TLS 1.2 at most with
    `tls12`; offering `alpn`."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def starttls_with(s: RawStream, domain: str, ctx: ssl.SSLContext, sni: str | None):
    """STARTTLS on a fresh raw stream to `domain` with `ctx`, sending `sni` (None: no SNI);
    returns the features after TLS."""
    open_stream(s, domain)
    s.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    proceed = s.next_element()
    assert proceed.tag == "{urn:ietf:params:xml:ns:xmpp-tls}proceed", proceed.tag
    s.sock = ctx.wrap_socket(s.sock, server_hostname=sni)
    return open_stream(s, domain)


def direct_tls(host: str, port: int, domain: str, ctx: ssl.SSLContext, sni: str | None) -> tuple[RawStream, object]:
    """A raw stream over XEP-0368 direct TLS; returns it and the features."""
    s = RawStream(host, port)
    s.sock = ctx.wrap_socket(s.sock, server_hostname=sni)
    return s, open_stream(s, domain)


def peer_der(s: RawStream) -> bytes:
    return s.sock.getpeercert(binary_form=True)
