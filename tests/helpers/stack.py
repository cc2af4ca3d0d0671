"""The all-Starling stack: starling-router, starling-sm and starling-c2s sharing one SQLite store,
as `starlingctl up` runs them. Clients are slixmpp over STARTTLS (c2s_stack's TLS clients) with the
sm test helpers (roster, presence, pushes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .c2s_stack import C2s, TlsRegisterClient, _tls, register_tls, start_c2s
from .ports import LOOPBACK, free_port
from .process import ProcessRegistry
from .smstack import SmClient
from .starling import DaemonHandle, RouterHandle, start_daemon, start_router
from .xmpp import DEFAULT_TIMEOUT

DOMAIN = "localhost"
C2S_USER, C2S_PASSWORD = "c2s", "c2s-router-secret"
SM_USER, SM_PASSWORD = "sm", "sm-router-secret"
STORE = "starling.db"


@dataclass
class Stack:
    router: RouterHandle
    sm: DaemonHandle
    c2s_daemon: C2s

    @property
    def c2s(self) -> tuple[str, int]:
        return (self.c2s_daemon.host, self.c2s_daemon.port)


def start_stack(workdir: Path, registry: ProcessRegistry, *, sm_limits: dict | None = None,
                c2s_limits: dict | None = None, registration: bool = True,
                components: dict[str, str] | None = None, sm_tables: dict | None = None) -> Stack:
    """`components`: XEP-0114 component name -> secret, accepted by the router (stand-ins for
    remote domains). `sm_tables`: further sm.toml tables (`{"disco": {...}}`)."""
    router = start_router(
        workdir,
        registry,
        {
            "id": "router",
            "listen": [f"{LOOPBACK}:{free_port()}"],
            "users": {
                C2S_USER: {"password": C2S_PASSWORD, "bind": ["c2s"]},
                SM_USER: {"password": SM_PASSWORD, "bind": ["sm", DOMAIN]},
            },
            **({"components": {name: {"secret": secret} for name, secret in components.items()}}
               if components else {}),
        },
    )
    sm = start_daemon(
        workdir,
        registry,
        "starling-sm",
        {
            "id": "sm",
            "domains": [DOMAIN],
            "router": {"addresses": [f"{router.host}:{router.port}"], "user": SM_USER, "password": SM_PASSWORD},
            "storage": {"path": STORE},
            "limits": {"offline_quota": 100, "max_roster_items": 1000, **(sm_limits or {})},
            **(sm_tables or {}),
        },
        ready_log=r"online at the router",
    )
    c2s = start_c2s(workdir, registry, router, registration=registration, limits=c2s_limits,
                    storage=STORE, router_login=(C2S_USER, C2S_PASSWORD))
    return Stack(router, sm, c2s)


class Client(SmClient):
    """An SmClient over STARTTLS with SCRAM-SHA-256."""

    def __init__(self, jid: str, password: str) -> None:
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        _tls(self, direct=False)


async def register(stack: Stack, *names: str) -> None:
    """Registers name@localhost with password name-pw for each name, in-band over STARTTLS."""
    host, port = stack.c2s
    for name in names:
        await register_tls(host, port, f"{name}@{DOMAIN}", f"{name}-pw")


async def login(stack: Stack, name: str, *, resource: str | None = None, presence: bool = True,
                priority: int | None = None, timeout: float = DEFAULT_TIMEOUT) -> Client:
    """Logs name@localhost in (password name-pw); with `priority`, sends that initial presence."""
    jid = f"{name}@{DOMAIN}" + (f"/{resource}" if resource else "")
    client = Client(jid, f"{name}-pw")
    host, port = stack.c2s
    if priority is None:
        await client.login(host, port, timeout, presence=presence)
    else:
        await client.login(host, port, timeout, presence=False)
        client.send_presence(ppriority=priority)
        await client.ping_server()
    return client


__all__ = ["Stack", "Client", "TlsRegisterClient", "start_stack", "register", "login", "DOMAIN"]
