"""A Starling stack with several sm and c2s instances on one router: every sm binds the domain
in multi mode (the router spreads users over them by bare JID) and its own id; every c2s binds
its own id. All share one SQLite file (WAL lets several processes on one machine use it).

Every wait is bounded and waits for a condition (a port, a log line, the c2s's stream features).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .c2s_stack import C2s
from .ports import LOOPBACK, free_port
from .process import ProcessRegistry
from .rawxmpp import wait_c2s_ready
from .starling import DaemonHandle, RouterHandle, start_daemon, start_router

DOMAIN = "localhost"
SM_ACCOUNT, SM_PASSWORD = "sm", "sm-router-secret"
C2S_ACCOUNT, C2S_PASSWORD = "c2s", "c2s-router-secret"
STORE = "starling.db"


@dataclass
class ScaleStack:
    workdir: Path
    registry: ProcessRegistry
    router: RouterHandle
    sms: dict[str, DaemonHandle] = field(default_factory=dict)
    c2ss: dict[str, C2s] = field(default_factory=dict)

    def c2s(self, cid: str = "c2s") -> tuple[str, int]:
        c = self.c2ss[cid]
        return (c.host, c.port)

    def sm_users(self, sid: str) -> set[str]:
        """The bare JIDs whose sessions the sm `sid` started (from its log)."""
        text = self.sms[sid].process.output()
        return {m.group(1).split("/", 1)[0] for m in re.finditer(r"session started jid=(\S+)", text)}


def start_router_for(workdir: Path, registry: ProcessRegistry, sm_ids, c2s_ids, **extra) -> RouterHandle:
    return start_router(
        workdir,
        registry,
        {
            "id": "router",
            "listen": [f"{LOOPBACK}:{free_port()}"],
            "users": {
                SM_ACCOUNT: {"password": SM_PASSWORD, "bind": [*sm_ids, DOMAIN]},
                C2S_ACCOUNT: {"password": C2S_PASSWORD, "bind": list(c2s_ids)},
            },
            **extra,
        },
    )


def start_sm(stack: ScaleStack, sid: str, limits: dict | None = None) -> DaemonHandle:
    handle = start_daemon(
        stack.workdir,
        stack.registry,
        "starling-sm",
        {
            "id": sid,
            "domains": [DOMAIN],
            "router": {"addresses": [f"{stack.router.host}:{stack.router.port}"], "user": SM_ACCOUNT,
                       "password": SM_PASSWORD},
            "storage": {"path": STORE},
            "limits": {"offline_quota": 100, "max_roster_items": 1000, **(limits or {})},
        },
        name=f"starling-{sid}",
        ready_log=r"online at the router",
    )
    stack.sms[sid] = handle
    return handle


def start_c2s(stack: ScaleStack, cid: str, limits: dict | None = None) -> C2s:
    port, tls_port = free_port(), free_port()
    config = {
        "id": cid,
        "listen": [f"{LOOPBACK}:{port}"],
        "direct_tls_listen": [f"{LOOPBACK}:{tls_port}"],
        "router": {"addresses": [f"{stack.router.host}:{stack.router.port}"], "user": C2S_ACCOUNT,
                   "password": C2S_PASSWORD},
        "storage": {"path": STORE},
        "hosts": {DOMAIN: {"registration": True}},
        "limits": {"auth_failure_delay_ms": 200, **(limits or {})},
    }
    handle = start_daemon(stack.workdir, stack.registry, "starling-c2s", config, name=f"starling-{cid}",
                          ready_port=(LOOPBACK, port))
    # Ready once the router has told it that the domain has an sm (host-gone before that).
    wait_c2s_ready(LOOPBACK, port, DOMAIN, timeout=20)
    c2s = C2s(handle, LOOPBACK, port, tls_port)
    stack.c2ss[cid] = c2s
    return c2s


def start_scale_stack(workdir: Path, registry: ProcessRegistry, *, sm_ids=("sm1", "sm2"), c2s_ids=("c2s",),
                      c2s_limits: dict | None = None, sm_limits: dict | None = None) -> ScaleStack:
    """Router, then every sm (each online before the next starts, so that the router's choice
    of sm per user is settled before anyone logs in), then every c2s."""
    router = start_router_for(workdir, registry, sm_ids, c2s_ids)
    stack = ScaleStack(workdir, registry, router)
    for sid in sm_ids:
        start_sm(stack, sid, sm_limits)
    for cid in c2s_ids:
        start_c2s(stack, cid, c2s_limits)
    return stack
