"""What the blocking (XEP-0191) and privacy list (XEP-0016) stack tests share: clients with
slixmpp's plugins that record every IQ (pushes included), the raw XML of lists and commands for
the cases the plugins cannot send, and checks on the errors both XEPs define."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .stack import Stack, login, register, start_stack
from .stack_checks import error_of, make_contacts, track_iqs
from .xmpp import DEFAULT_TIMEOUT, run_async

PRIVACY = "jabber:iq:privacy"
BLOCKING = "urn:xmpp:blocking"
BLOCKING_ERRORS = "urn:xmpp:blocking:errors"
PLUGINS = ("xep_0030", "xep_0016", "xep_0191", "xep_0199")


def scenario(workdir, processes, body, contacts=(), sm_limits=None, timeout=120):
    """Runs `body(stack)` on a new stack with alice, bob, carol and dave registered and each
    pair in `contacts` made mutual contacts."""
    stack = start_stack(workdir, processes, sm_limits=sm_limits)

    async def run():
        await register(stack, "alice", "bob", "carol", "dave")
        for a, b in contacts:
            await make_contacts(stack, a, b)
        await body(stack)

    run_async(run(), timeout=timeout)


async def close_all(*clients):
    for c in clients:
        await c.close()


async def client(stack: Stack, name: str, **kw):
    """A logged-in client with the plugins, recording every IQ it receives in `iqs`."""
    c = track_iqs(await login(stack, name, **kw))
    for plugin in PLUGINS:
        c.register_plugin(plugin)
    return c


def el(ns: str, name: str, attrs: dict | None = None, *children: ET.Element) -> ET.Element:
    e = ET.Element(f"{{{ns}}}{name}", attrs or {})
    e.extend(children)
    return e


def query(*children: ET.Element) -> ET.Element:
    return el(PRIVACY, "query", None, *children)


def plist(name: str | None, *items: ET.Element) -> ET.Element:
    return el(PRIVACY, "list", {} if name is None else {"name": name}, *items)


def item(action: str, order, typ: str | None = None, value: str | None = None, *kinds: str) -> ET.Element:
    """A privacy list item; `kinds` are its child elements (message, iq, presence-in, presence-out)."""
    attrs = {"action": action, "order": str(order)}
    if typ is not None:
        attrs["type"] = typ
    if value is not None:
        attrs["value"] = value
    return el(PRIVACY, "item", attrs, *(el(PRIVACY, k) for k in kinds))


def blocking(name: str, *jids: str) -> ET.Element:
    return el(BLOCKING, name, None, *(el(BLOCKING, "item", {"jid": j}) for j in jids))


async def answer(sender, payload: ET.Element, itype: str = "set", to: str | None = None):
    """Sends an IQ with `payload` and returns the answer, result or error."""
    return await sender.iq(to, itype, payload, timeout=DEFAULT_TIMEOUT)


async def error(sender, payload: ET.Element, itype: str = "set", to: str | None = None):
    """Sends an IQ that must fail; returns its (error type, condition)."""
    reply = await answer(sender, payload, itype, to)
    assert reply["type"] == "error", reply
    return error_of(reply)


async def ok(sender, payload: ET.Element, itype: str = "set", to: str | None = None):
    reply = await answer(sender, payload, itype, to)
    assert reply["type"] == "result", reply
    return reply


def is_push(iq, ns: str, name: str) -> bool:
    return iq["type"] == "set" and iq.xml.find(f"{{{ns}}}{name}") is not None


def pushed_jids(iq, name: str) -> list[str]:
    """The JIDs of a block or unblock push (`[]`: unblock all)."""
    return [i.get("jid") for i in iq.xml.find(f"{{{BLOCKING}}}{name}")]


def is_list_push(name: str):
    def check(iq) -> bool:
        lists = iq.xml.findall(f"{{{PRIVACY}}}query/{{{PRIVACY}}}list")
        return iq["type"] == "set" and [l.get("name") for l in lists] == [name] and len(lists[0]) == 0

    return check


def names(reply) -> tuple[str | None, str | None, list[str]]:
    """(active, default, list names) of a get-names result."""
    q = reply.xml.find(f"{{{PRIVACY}}}query")
    get = lambda tag: next((e.get("name") for e in q.findall(f"{{{PRIVACY}}}{tag}")), None)
    return get("active"), get("default"), [e.get("name") for e in q.findall(f"{{{PRIVACY}}}list")]


def refused(stanza, condition: str, blocked: bool = False) -> bool:
    """The stanza is an error with `condition`, and XEP-0191's <blocked/> when `blocked`."""
    err = error_of(stanza)
    if stanza["type"] != "error" or err is None or err[1] != condition:
        return False
    mark = stanza.xml.find(f"{{jabber:client}}error/{{{BLOCKING_ERRORS}}}blocked")
    return (mark is not None) == blocked


def ptype(p) -> str:
    """The raw presence type ('available' when absent)."""
    return p.xml.get("type", "available")
