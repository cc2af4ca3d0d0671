"""vcard-temp (XEP-0054) and private XML storage (XEP-0049) on the all-Starling stack: the normal
flows judged by slixmpp's own plugins (xep_0054, xep_0049 with xep_0048 bookmarks), the error
cases each XEP defines sent as raw IQs, and the size limits of sm.toml's [limits].
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from slixmpp.plugins.xep_0048.stanza import Bookmarks

from helpers.stack import DOMAIN, start_stack
from helpers.stack_checks import barrier, error_of, jid, leftovers, refused, plugged_client, scenario
from helpers.xmpp import DEFAULT_TIMEOUT

VCARD = "vcard-temp"
PRIVATE = "jabber:iq:private"
INFO = "http://jabber.org/protocol/disco#info"
PREFS = "exodus:prefs"
# Small limits, so that the tests can cross them.
MAX_VCARD, MAX_PRIVATE = 2048, 2048
PLUGINS = ("xep_0030", "xep_0054", "xep_0049", "xep_0048")


async def client(stack, name: str, **kw):
    return await plugged_client(stack, name, PLUGINS, **kw)


def vcard_el(**fields: str) -> ET.Element:
    card = ET.Element(f"{{{VCARD}}}vCard")
    for name, text in fields.items():
        ET.SubElement(card, f"{{{VCARD}}}{name}").text = text
    return card


def private_query(*elements: ET.Element) -> ET.Element:
    query = ET.Element(f"{{{PRIVATE}}}query")
    query.extend(elements)
    return query


def el(ns: str, name: str, text: str | None = None) -> ET.Element:
    e = ET.Element(f"{{{ns}}}{name}")
    e.text = text
    return e


async def raw_error(sender, to, itype: str, payload: ET.Element) -> tuple[str, str] | None:
    answer = await sender.iq(to, itype, payload)
    assert answer["type"] == "error", answer
    return error_of(answer)


def test_vcards_own_and_others(workdir, processes):
    """XEP-0054 §3.1: the user's own vCard, empty before any was set; §3.2: a set replaces the
    whole vCard; §3.3: anyone may read it at the user's bare JID, answered by the server (never
    the user's client), online or not; no vCard and no account give the same error; §4: the
    feature at the domain and at the account."""
    stack = start_stack(workdir, processes, sm_limits={"max_vcard_bytes": MAX_VCARD})

    async def body():
        alice = await client(stack, "alice", resource="pc")
        bob = await client(stack, "bob", resource="home")
        try:
            vcards = alice.plugin["xep_0054"]
            empty = await vcards.get_vcard(local=False, timeout=DEFAULT_TIMEOUT)
            assert empty["type"] == "result" and list(empty.xml.find(f"{{{VCARD}}}vCard")) == []
            card = vcards.make_vcard()
            card["FN"] = "Alice Liddell"
            card["NICKNAME"] = "alice"
            card["PHOTO"]["TYPE"] = "image/png"
            card["PHOTO"]["BINVAL"] = b"\x89PNG\r\n\x1a\n avatar"
            await vcards.publish_vcard(card, timeout=DEFAULT_TIMEOUT)
            for target in (None, jid("alice")):
                own = await vcards.get_vcard(target, local=False, timeout=DEFAULT_TIMEOUT)
                assert own["vcard_temp"]["FN"] == "Alice Liddell"
            theirs = await bob.plugin["xep_0054"].get_vcard(jid("alice"), timeout=DEFAULT_TIMEOUT)
            assert theirs["from"] == jid("alice")
            assert theirs.xml.find(f"{{{VCARD}}}vCard/{{{VCARD}}}NICKNAME").text == "alice"
            assert theirs["vcard_temp"]["PHOTO"]["BINVAL"] == b"\x89PNG\r\n\x1a\n avatar"
            await barrier(bob, alice)
            assert leftovers(alice.iqs, lambda iq: iq["type"] == "get"
                             and iq.xml.find(f"{{{VCARD}}}vCard") is not None) == []
            # The whole vCard is replaced: the nickname goes.
            replacement = vcards.make_vcard()
            replacement["FN"] = "Alice"
            await vcards.publish_vcard(replacement, timeout=DEFAULT_TIMEOUT)
            await alice.close()
            theirs = await bob.plugin["xep_0054"].get_vcard(jid("alice"), timeout=DEFAULT_TIMEOUT)
            assert theirs["vcard_temp"]["FN"] == "Alice"
            assert theirs.xml.find(f"{{{VCARD}}}vCard/{{{VCARD}}}NICKNAME") is None
            for target in (jid("carol"), jid("nobody")):
                error = await refused(bob.plugin["xep_0054"].get_vcard(target, timeout=DEFAULT_TIMEOUT))
                assert error == ("cancel", "service-unavailable"), (target, error)
            info = await bob.plugin["xep_0030"].get_info(DOMAIN, cached=False)
            assert {VCARD, PRIVATE} <= set(info["disco_info"]["features"])
            info = await bob.plugin["xep_0030"].get_info(jid("bob"), cached=False)
            assert VCARD in set(info["disco_info"]["features"])
            assert PRIVATE not in set(info["disco_info"]["features"])
        finally:
            await alice.close()
            await bob.close()

    scenario(stack, ["alice", "bob", "carol"], body)


def test_vcard_errors_and_limit(workdir, processes):
    """XEP-0054 §3.2: a set on another user's vCard, or on the domain's, is forbidden; a vCard
    over `max_vcard_bytes` is not-acceptable; neither changes the stored vCard. The domain has
    no vCard of its own."""
    stack = start_stack(workdir, processes, sm_limits={"max_vcard_bytes": MAX_VCARD})

    async def body():
        alice = await client(stack, "alice")
        bob = await client(stack, "bob")
        try:
            kept = vcard_el(FN="Alice")
            assert (await alice.iq(None, "set", kept))["type"] == "result"
            assert await raw_error(bob, jid("alice"), "set", vcard_el(FN="Mallory")) == ("auth", "forbidden")
            assert await raw_error(bob, DOMAIN, "set", vcard_el(FN="Server")) == ("auth", "forbidden")
            assert await raw_error(bob, DOMAIN, "get", vcard_el()) == ("cancel", "service-unavailable")
            assert await raw_error(alice, None, "set", vcard_el(DESC="x" * MAX_VCARD)) == \
                ("modify", "not-acceptable")
            # Just under the limit is fine.
            fits = vcard_el(DESC="x" * (MAX_VCARD - 100))
            assert (await alice.iq(jid("alice"), "set", fits))["type"] == "result"
            answer = await bob.iq(jid("alice"), "get", vcard_el())
            assert answer.xml.find(f"{{{VCARD}}}vCard/{{{VCARD}}}DESC").text == "x" * (MAX_VCARD - 100)
            assert answer.xml.find(f"{{{VCARD}}}vCard/{{{VCARD}}}FN") is None
        finally:
            await alice.close()
            await bob.close()

    scenario(stack, ["alice", "bob"], body)


def test_private_storage(workdir, processes):
    """XEP-0049 §2: the user stores XML per namespace and gets it back, in this session or a
    later one; namespaces are independent; a namespace with nothing stored gives back the empty
    element asked for; a set may hold several elements of one namespace. Bookmarks (XEP-0048)
    through slixmpp's plugins are the real-client check."""
    stack = start_stack(workdir, processes, sm_limits={"max_private_bytes": MAX_PRIVATE})

    async def body():
        alice = await client(stack, "alice", resource="pc")
        try:
            nothing = await alice.plugin["xep_0048"].get_bookmarks(timeout=DEFAULT_TIMEOUT)
            assert list(nothing["private"]["bookmarks"]["conferences"]) == []
            bookmarks = Bookmarks()
            bookmarks.add_conference("tea@conference.localhost", "alice", name="Tea Party", autojoin=True)
            await alice.plugin["xep_0048"].set_bookmarks(bookmarks, timeout=DEFAULT_TIMEOUT)
            prefs = private_query(el(PREFS, "defaultnick", "Hamlet"), el(PREFS, "colour", "blue"))
            assert (await alice.iq(None, "set", prefs))["type"] == "result"
        finally:
            await alice.close()
        alice = await client(stack, "alice", resource="phone")
        try:
            stored = await alice.plugin["xep_0048"].get_bookmarks(timeout=DEFAULT_TIMEOUT)
            [conference] = stored["private"]["bookmarks"]["conferences"]
            assert (conference["jid"], conference["nick"], conference["name"], conference["autojoin"]) == \
                ("tea@conference.localhost", "alice", "Tea Party", True)
            answer = await alice.iq(jid("alice"), "get", private_query(el(PREFS, "defaultnick")))
            assert answer["type"] == "result", answer
            assert [(e.tag, e.text) for e in answer.xml.find(f"{{{PRIVATE}}}query")] == \
                [(f"{{{PREFS}}}defaultnick", "Hamlet"), (f"{{{PREFS}}}colour", "blue")]
            unknown = await alice.iq(None, "get", private_query(el("storage:rosternotes", "storage")))
            assert [(e.tag, e.text, list(e)) for e in unknown.xml.find(f"{{{PRIVATE}}}query")] == \
                [("{storage:rosternotes}storage", None, [])]
        finally:
            await alice.close()

    scenario(stack, ["alice"], body)


def test_private_storage_errors_and_quota(workdir, processes):
    """XEP-0049 §2.3/§3: another user's data, or the domain's, is forbidden; a query without an
    element is not-acceptable; elements of several namespaces are a bad request; reserved
    namespaces are not-acceptable; a set past `max_private_bytes` (all namespaces together) is
    not-acceptable. None of these changes what is stored."""
    stack = start_stack(workdir, processes, sm_limits={"max_private_bytes": MAX_PRIVATE})

    async def body():
        alice = await client(stack, "alice")
        bob = await client(stack, "bob")
        try:
            mine = private_query(el(PREFS, "defaultnick", "Hamlet"))
            assert (await alice.iq(None, "set", mine))["type"] == "result"
            for itype in ("get", "set"):
                theirs = private_query(el(PREFS, "defaultnick", "Macbeth"))
                assert await raw_error(bob, jid("alice"), itype, theirs) == ("auth", "forbidden")
                assert await raw_error(bob, DOMAIN, itype, theirs) == ("auth", "forbidden")
                assert await raw_error(alice, None, itype, private_query()) == ("modify", "not-acceptable")
                mixed = private_query(el(PREFS, "a"), el("other:ns", "b"))
                assert await raw_error(alice, None, itype, mixed) == ("modify", "bad-request")
                for ns in ("jabber:client", "jabber:server", "jabber:component:accept", PRIVATE,
                           "jabber:iq:roster", "http://jabber.org/protocol/muc", VCARD):
                    error = await raw_error(alice, None, itype, private_query(el(ns, "x")))
                    assert error == ("modify", "not-acceptable"), (itype, ns, error)
            big = private_query(el("big:ns", "data", "x" * (MAX_PRIVATE // 2)))
            assert (await alice.iq(None, "set", big))["type"] == "result"
            # Replacing a namespace counts only the new data; another namespace adds up.
            assert (await alice.iq(None, "set", big))["type"] == "result"
            more = private_query(el("more:ns", "data", "x" * (MAX_PRIVATE // 2)))
            assert await raw_error(alice, None, "set", more) == ("modify", "not-acceptable")
            answer = await alice.iq(None, "get", private_query(el("more:ns", "data")))
            assert answer.xml.find(f"{{{PRIVATE}}}query/{{more:ns}}data").text is None
            answer = await alice.iq(None, "get", private_query(el(PREFS, "defaultnick")))
            assert answer.xml.find(f"{{{PRIVATE}}}query/{{{PREFS}}}defaultnick").text == "Hamlet"
        finally:
            await alice.close()
            await bob.close()

    scenario(stack, ["alice", "bob"], body)
