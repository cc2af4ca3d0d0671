"""Checks shared by the all-Starling stack tests of RFC 6120/6121 behaviour: mutual
subscriptions set up through the real subscribe/subscribed flows, barriers that prove something
was *not* delivered, IQ capture, and stanza error inspection.

A barrier works because every stanza between two users passes through the one sm task and then
one c2s connection in order: once a marker sent after the stanza under test has arrived, anything
that stanza caused for the same receiver has arrived too.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from .stack import DOMAIN, Client, Stack, login, register
from .xmpp import run_async, stanza_error

_markers = itertools.count(1)


def jid(name: str, resource: str | None = None) -> str:
    return f"{name}@{DOMAIN}" + (f"/{resource}" if resource else "")


def track_iqs(client: Client) -> Client:
    """Records every IQ the client receives (results and errors included) in `client.iqs`."""
    client.register_handler(Callback("test: all iqs", MatchXPath("{jabber:client}iq"), client.iqs.put))
    return client


def error_of(stanza) -> tuple[str, str] | None:
    """(type, condition) of a stanza error, or None."""
    return stanza_error(stanza)


async def refused(call) -> tuple[str, str] | None:
    """Awaits an slixmpp request that must fail; returns its (error type, condition)."""
    try:
        answer = await call
    except IqError as e:
        return error_of(e.iq)
    raise AssertionError(f"expected an error, got {answer}")


def is_error(stanza, condition: str) -> bool:
    """The stanza is an error with this defined condition."""
    err = stanza_error(stanza)
    return stanza["type"] == "error" and err is not None and err[1] == condition


async def barrier(sender: Client, receiver: Client) -> None:
    """Sends a marker message from `sender` to `receiver`'s full JID and waits for it: whatever
    `sender` (or the sm on its behalf) sent `receiver` before has arrived by then."""
    mid = f"barrier-{next(_markers)}"
    msg = sender.make_message(mto=receiver.boundjid.full, mbody="barrier", mtype="chat")
    msg["id"] = mid
    msg.send()
    await receiver.wait_message(lambda m: m["id"] == mid, what=f"barrier {mid}")


async def fence(client: Client) -> None:
    """A barrier for stanzas to users without a session on the sm (offline or nonexistent):
    those go out to the router and come back before the sm handles them, so a ping would
    overtake them. A message to a user that does not exist takes the same trip and comes back
    as an error: whatever the client sent such users before has been handled by then."""
    mid = f"fence-{next(_markers)}"
    msg = client.make_message(mto=f"fence@{DOMAIN}", mbody="fence", mtype="chat")
    msg["id"] = mid
    msg.send()
    await client.wait_message(lambda m: m["id"] == mid and m["type"] == "error", what=f"fence {mid}")


def leftovers(queue, predicate=lambda _: True) -> list:
    """Stanzas received and not taken by any wait that match `predicate`."""
    return [st for st in queue.items if predicate(st)]


def forget(*queues) -> None:
    """Drops what the queues hold, after a barrier, so that later leftovers checks see only
    what came afterwards."""
    for q in queues:
        q.items.clear()


def from_bare(name: str):
    return lambda st: st["from"].bare == jid(name)


async def make_contacts(stack: Stack, a: str, b: str) -> None:
    """Gives `a` and `b` a `both` subscription through the RFC 6121 §3.1 flows (each asks, the
    other approves), then logs both out, so that the test starts from fresh sessions."""
    ca = await login(stack, a, resource="setup")
    cb = await login(stack, b, resource="setup")
    try:
        for asker, approver, an, bn in ((ca, cb, a, b), (cb, ca, b, a)):
            asker.send_presence(pto=jid(bn), ptype="subscribe")
            await approver.wait_presence(
                lambda p, an=an: p["type"] == "subscribe" and p["from"].bare == jid(an),
                what=f"subscribe from {an}",
            )
            approver.send_presence(pto=jid(an), ptype="subscribed")
            await asker.wait_presence(
                lambda p, bn=bn: p["type"] == "subscribed" and p["from"].bare == jid(bn),
                what=f"subscribed from {bn}",
            )
        for client, other in ((ca, b), (cb, a)):
            roster = await client.roster_get()
            items = {i.get("jid"): i.get("subscription") for i in roster.xml.iter("{jabber:iq:roster}item")}
            assert items.get(jid(other)) == "both", ET.tostring(roster.xml)
        # Both go unavailable before closing, in an order the test can see end, so that no
        # late goodbye from these sessions reaches the sessions of the test itself.
        cb.send_presence(ptype="unavailable")
        await ca.wait_presence(
            lambda p: p["type"] == "unavailable" and p["from"] == jid(b, "setup"), what=f"{b}/setup unavailable"
        )
        ca.send_presence(ptype="unavailable")
        await ca.ping_server()
    finally:
        await ca.close()
        await cb.close()


async def plugged_client(stack: Stack, name: str, plugins, **kw) -> Client:
    """A logged-in client with IQ tracking and the given slixmpp plugins."""
    c = track_iqs(await login(stack, name, **kw))
    for plugin in plugins:
        c.register_plugin(plugin)
    return c


def scenario(stack: Stack, names, body, timeout=90) -> None:
    """Registers `names`, then runs the coroutine function `body`, bounded by `timeout`."""

    async def run():
        await register(stack, *names)
        await body()

    run_async(run(), timeout=timeout)
