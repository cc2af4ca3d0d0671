"""What the roster, subscription and offline tests of the all-Starling stack share: reading roster
items out of results and pushes, the arrival order of stanzas, barriers, and a XEP-0114 component
that stands in for a remote server's contacts.

Barriers: the sm handles packets in order and c2s keeps each connection's order, so a ping a
client sends after its last request is answered only after everything that request caused was
sent; a ping answered to a recipient proves everything the sm sent it before has arrived.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from .smstack import NS_ROSTER
from .stack import DOMAIN, Stack, login
from .xmpp import Component

REMOTE = "remote.localhost"
REMOTE_SECRET = "remote-component-secret"


def query(iq) -> ET.Element | None:
    return iq.xml.find(f"{{{NS_ROSTER}}}query")


def item(iq, jid: str) -> ET.Element | None:
    """The <item/> for `jid` in a roster result or push."""
    q = query(iq)
    if q is None:
        return None
    return next((i for i in q.findall(f"{{{NS_ROSTER}}}item") if i.get("jid") == jid), None)


def state(iq, jid: str) -> tuple[str | None, str | None] | None:
    """(subscription, ask) of `jid` in a roster result or push; None when absent."""
    it = item(iq, jid)
    return None if it is None else (it.get("subscription"), it.get("ask"))


def groups(it: ET.Element) -> list[str]:
    return [g.text or "" for g in it.findall(f"{{{NS_ROSTER}}}group")]


def push_of(jid: str, subscription: str, ask: str | None = None):
    """Predicate: a roster push of `jid` with this subscription and ask."""
    return lambda iq: state(iq, jid) == (subscription, ask)


def record_arrivals(xmpp) -> list:
    """Every message, presence and IQ `xmpp` receives from now on, in arrival order."""
    arrivals: list = []
    ns = xmpp.default_ns
    for kind in ("message", "presence", "iq"):
        xmpp.register_handler(Callback(f"test: arrivals {kind}", MatchXPath(f"{{{ns}}}{kind}"), arrivals.append))
    return arrivals


def position(arrivals: list, predicate) -> int:
    for i, st in enumerate(arrivals):
        if predicate(st):
            return i
    raise AssertionError(f"not among the arrivals: {[str(s) for s in arrivals]}")


async def barrier(*clients) -> None:
    for c in clients:
        await c.ping_server()


def forget(*clients) -> None:
    """Drops what the clients received so far and nobody waited for."""
    for c in clients:
        for q in (c.messages, c.presences, c.pushes):
            q.items.clear()


async def online(stack: Stack, name: str, resource: str | None = None, presence: bool = True):
    """name@localhost logged in, available (unless `presence` is false) and interested in roster
    pushes (it fetched the roster)."""
    client = await login(stack, name, resource=resource, presence=presence)
    answer = await client.roster_get()
    assert answer["type"] == "result", answer
    return client


async def subscribe(user, contact) -> None:
    """`user` subscribes to `contact`'s presence and `contact` approves; both are online and
    interested. Waits until both rosters were pushed."""
    u, c = user.boundjid.bare, contact.boundjid.bare
    user.send_presence(pto=c, ptype="subscribe")
    await contact.wait_presence(lambda p: p["type"] == "subscribe" and p["from"].bare == u)
    contact.send_presence(pto=u, ptype="subscribed")
    await user.wait_push(lambda iq: state(iq, c) is not None and state(iq, c)[0] in ("to", "both"))
    await contact.wait_push(lambda iq: state(iq, u) is not None and state(iq, u)[0] in ("from", "both"))
    await barrier(user, contact)
    forget(user, contact)


async def remote_contacts(stack: Stack) -> Component:
    """A XEP-0114 component bound as REMOTE: contacts at another domain, whose traffic the test
    sees exactly as the sm sends it."""
    comp = Component(REMOTE, REMOTE_SECRET, stack.router.host, stack.router.port)
    return await comp.start()

