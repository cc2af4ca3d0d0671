"""The mixed stack the sm tests use: starling-router (jabberd2_compat) + starling-sm + Debian
jabberd2's c2s, which registers users (`create` to our sm) and carries their sessions.

Also slixmpp helpers for what the sm tests look at: raw IQs, roster pushes, and presence.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from .jabberd2 import Jabberd2
from .ports import LOOPBACK, free_port
from .process import ProcessRegistry
from .starling import DaemonHandle, RouterHandle, start_daemon, start_router
from .xmpp import DEFAULT_TIMEOUT, ChatClient, _StanzaQueue, register_account, stanza_error

DOMAIN = "localhost"
C2S_USER, C2S_PASSWORD = "jabberd", "c2s-router-secret"
SM_USER, SM_PASSWORD = "sm", "sm-router-secret"
NS_ROSTER = "jabber:iq:roster"


@dataclass
class Stack:
    router: RouterHandle
    sm: DaemonHandle
    jd2: Jabberd2

    @property
    def c2s(self) -> tuple[str, int]:
        return (self.jd2.c2s_host, self.jd2.c2s_port)


def sm_config(router: RouterHandle, workdir: Path, **limits) -> dict:
    return {
        "id": "sm",
        "domains": [DOMAIN],
        "router": {"addresses": [f"{router.host}:{router.port}"], "user": SM_USER, "password": SM_PASSWORD},
        "storage": {"path": str(workdir / "sm.db")},
        "limits": {"offline_quota": 100, "max_roster_items": 1000, **limits},
    }


def start_stack(workdir: Path, registry: ProcessRegistry, **limits) -> Stack:
    router = start_router(
        workdir,
        registry,
        {
            "id": "router",
            "listen": [f"{LOOPBACK}:{free_port()}"],
            "jabberd2_compat": True,
            "users": {
                C2S_USER: {"password": C2S_PASSWORD, "bind": ["c2s", "c2s2"]},
                SM_USER: {"password": SM_PASSWORD, "bind": ["sm", DOMAIN]},
            },
        },
    )
    sm = start_daemon(
        workdir, registry, "starling-sm", sm_config(router, workdir, **limits), ready_log=r"online at the router"
    )
    jd2 = Jabberd2(
        workdir / "jabberd2",
        registry,
        domain=DOMAIN,
        router_host=router.host,
        router_port=router.port,
        router_user=C2S_USER,
        router_password=C2S_PASSWORD,
    )
    jd2.start_c2s()
    return Stack(router, sm, jd2)


def second_c2s(stack: Stack, workdir: Path, registry: ProcessRegistry) -> Jabberd2:
    """Another jabberd2 c2s (id `c2s2`, its own authreg) on the same router and sm."""
    jd2 = Jabberd2(
        workdir / "jabberd2-second",
        registry,
        domain=DOMAIN,
        router_host=stack.router.host,
        router_port=stack.router.port,
        router_user=C2S_USER,
        router_password=C2S_PASSWORD,
        c2s_id="c2s2",
    )
    jd2.start_c2s()
    return jd2


class SmClient(ChatClient):
    """A ChatClient that also records roster pushes and leaves subscription answers to the test."""

    def __init__(self, jid: str, password: str, sasl_mech: str = "PLAIN") -> None:
        super().__init__(jid, password, sasl_mech=sasl_mech)
        self.pushes = _StanzaQueue()
        self.register_handler(
            Callback("test: roster pushes", MatchXPath(f"{{jabber:client}}iq/{{{NS_ROSTER}}}query"), self._on_roster_iq)
        )
        # slixmpp would otherwise answer subscription requests by itself.
        self.roster.auto_authorize = None
        self.roster.auto_subscribe = False

    def _on_roster_iq(self, iq) -> None:
        if iq["type"] == "set":
            self.pushes.put(iq)

    async def iq(self, ito: str | None, itype: str, payload: ET.Element | None, timeout: float = DEFAULT_TIMEOUT):
        """Send an IQ and return the answer, result or error alike."""
        iq = self.make_iq(itype=itype, ito=ito)
        if payload is not None:
            iq.append(payload)
        try:
            return await iq.send(timeout=timeout)
        except IqError as e:
            return e.iq

    async def roster_get(self, ver: str | None = None):
        q = ET.Element(f"{{{NS_ROSTER}}}query")
        if ver is not None:
            q.set("ver", ver)
        return await self.iq(None, "get", q)

    async def roster_set(self, jid: str, name: str | None = None, groups=(), remove: bool = False, extra_item=False):
        q = ET.Element(f"{{{NS_ROSTER}}}query")
        for j in [jid] + ([extra_item] if extra_item else []):
            item = ET.SubElement(q, f"{{{NS_ROSTER}}}item", {"jid": j})
            if name:
                item.set("name", name)
            if remove:
                item.set("subscription", "remove")
            for g in groups:
                ET.SubElement(item, f"{{{NS_ROSTER}}}group").text = g
        return await self.iq(None, "set", q)

    async def wait_presence(self, predicate, timeout: float = DEFAULT_TIMEOUT, what: str = "a presence"):
        return await self.presences.wait(predicate, timeout, what)

    async def wait_push(self, predicate=lambda iq: True, timeout: float = DEFAULT_TIMEOUT, what: str = "a roster push"):
        return await self.pushes.wait(predicate, timeout, what)


def roster_items(iq) -> dict[str, ET.Element]:
    """jid -> <item/> of a roster result or push."""
    q = iq.xml.find(f"{{{NS_ROSTER}}}query")
    if q is None:
        return {}
    return {i.get("jid"): i for i in q.findall(f"{{{NS_ROSTER}}}item")}


def query_ver(iq) -> str | None:
    q = iq.xml.find(f"{{{NS_ROSTER}}}query")
    return None if q is None else q.get("ver")


def error_condition(stanza) -> str | None:
    err = stanza_error(stanza)
    return err[1] if err else None


async def login(stack: Stack, jid: str, password: str, *, presence: bool = True, priority: int | None = None) -> SmClient:
    client = SmClient(jid, password)
    host, port = stack.c2s
    if priority is None:
        await client.login(host, port, presence=presence)
    else:
        await client.login(host, port, presence=False)
        client.send_presence(ppriority=priority)
        await client.ping_server()
    return client


async def register(stack: Stack, *names: str) -> None:
    host, port = stack.c2s
    for name in names:
        await register_account(host, port, f"{name}@{DOMAIN}", f"{name}-pw")
