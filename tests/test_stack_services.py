"""The sm's server-side services on the all-Starling stack, judged by slixmpp's own plugins:
XEP-0030 service discovery of the server (with XEP-0128/XEP-0157 contact addresses and the
components the router advertises) and of accounts, XEP-0092 software version, XEP-0199 ping,
XEP-0202 entity time and XEP-0012 last activity, with the error cases each XEP defines.

An account's information is for the user and for contacts who may see the user's presence
(a `from` or `both` subscription in the user's roster): XEP-0030 §8 and XEP-0012 §3/§4.
"""

from __future__ import annotations

import asyncio
import datetime
import time
import tomllib
import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from helpers.stack import DOMAIN, start_stack
from helpers.stack_checks import barrier, jid, leftovers, make_contacts, refused, plugged_client, scenario
from helpers.starling import REPO_ROOT
from helpers.xmpp import DEFAULT_TIMEOUT, Component

INFO = "http://jabber.org/protocol/disco#info"
ITEMS = "http://jabber.org/protocol/disco#items"
LAST = "jabber:iq:last"
PLUGINS = ("xep_0030", "xep_0128", "xep_0012", "xep_0092", "xep_0199", "xep_0202")
# What the sm implements today, at the domain and on behalf of accounts.
SERVER_FEATURES = {INFO, ITEMS, "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time", LAST,
                   "jabber:iq:roster", "msgoffline", "urn:xmpp:delay", "vcard-temp", "jabber:iq:private",
                   "jabber:iq:privacy", "urn:xmpp:blocking"}
ACCOUNT_FEATURES = {INFO, ITEMS, "urn:xmpp:ping", LAST, "vcard-temp"}
MUC, MUC_SECRET = f"conference.{DOMAIN}", "conference-secret"
BOT, BOT_SECRET = f"bot.{DOMAIN}", "bot-secret"


async def client(stack, name: str, **kw):
    return await plugged_client(stack, name, PLUGINS, **kw)


def refuse(iq) -> None:
    """Answers an IQ get with service-unavailable."""
    if iq["type"] == "get":
        error = iq.reply()
        error["type"] = "error"
        error["error"]["condition"] = "service-unavailable"
        error.send()


async def eventually(check, what: str, timeout: float = DEFAULT_TIMEOUT):
    """Repeats the async `check` until it returns true, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.2)


def test_server_info_lists_the_implemented_features_and_the_contact_addresses(workdir, processes):
    """XEP-0030 §3.1: the domain's identity (server/im) and features; XEP-0128 + XEP-0157: the
    configured contact addresses as a serverinfo form; a node is item-not-found."""
    contacts = {"abuse": ["mailto:abuse@localhost", "xmpp:abuse@localhost"],
                "support": ["https://localhost/support"]}
    stack = start_stack(workdir, processes,
                        sm_tables={"disco": {"name": "Test Server", "contacts": contacts}})

    async def body():
        alice = await client(stack, "alice")
        try:
            info = await alice.plugin["xep_0030"].get_info(DOMAIN, cached=False)
            assert info["from"] == DOMAIN
            assert set(info["disco_info"]["identities"]) == {("server", "im", None, "Test Server")}
            features = info["disco_info"].get_features(dedupe=False)
            assert len(features) == len(set(features)), features
            assert set(features) >= SERVER_FEATURES, features
            # Nothing the sm does not implement.
            assert "http://jabber.org/protocol/commands" not in features, features
            forms = info["disco_info"]["forms"]
            assert len(forms) == 1, forms
            assert forms[0]["type"] == "result"
            # slixmpp reads every hidden field as a list.
            assert forms[0].get_values() == {
                "FORM_TYPE": ["http://jabber.org/network/serverinfo"],
                "abuse-addresses": contacts["abuse"],
                "support-addresses": contacts["support"],
            }
            for request in (alice.plugin["xep_0030"].get_info, alice.plugin["xep_0030"].get_items):
                assert await refused(request(DOMAIN, node="no-such-node")) == ("cancel", "item-not-found")
        finally:
            await alice.close()

    scenario(stack, ["alice"], body)


def test_server_items_are_the_advertised_components_that_answer(workdir, processes):
    """XEP-0030 §4.1: the domain's items are the components the router advertises, learnt by
    asking each for its identity; one that answers with an error is not listed, nor are c2s and
    the sm; a component that goes away is no longer listed."""
    stack = start_stack(workdir, processes, components={MUC: MUC_SECRET, BOT: BOT_SECRET})
    host, port = stack.router.host, stack.router.port
    expected = {(MUC, None, "Chatrooms")}

    async def body():
        alice = await client(stack, "alice")

        async def items() -> set:
            answer = await alice.plugin["xep_0030"].get_items(DOMAIN)
            return set(answer["disco_items"]["items"])

        async def listed() -> bool:
            return await items() == expected

        async def unlisted() -> bool:
            return await items() == set()

        # Both are ready before they connect: the sm asks as soon as the router advertises them.
        muc = Component(MUC, MUC_SECRET, host, port)
        muc.register_plugin("xep_0030")
        muc.plugin["xep_0030"].add_identity(category="conference", itype="text", name="Chatrooms")
        bot = Component(BOT, BOT_SECRET, host, port)
        bot.register_handler(Callback("test: refuse disco", MatchXPath(f"{{{bot.default_ns}}}iq/{{{INFO}}}query"),
                                      refuse))
        try:
            assert await items() == set()
            await muc.start()
            await bot.start()
            await eventually(listed, "the conference service listed")
            await bot.iqs.wait(lambda iq: iq.xml.find(f"{{{INFO}}}query") is not None, DEFAULT_TIMEOUT,
                               "the sm's question to the bot")
            assert await items() == expected
            await muc.close()
            await eventually(unlisted, "the gone component unlisted")
        finally:
            await bot.close()
            await muc.close()
            await alice.close()

    scenario(stack, ["alice"], body)


def test_account_info_and_items_only_for_those_who_may_see_presence(workdir, processes):
    """XEP-0030 §3.1/§4.1/§8: the server answers for a bare JID. The user and contacts with a
    `from`/`both` subscription get the account/registered identity and the available resources;
    anyone else gets service-unavailable for info and an empty list of items, exactly as for an
    account that does not exist."""
    stack = start_stack(workdir, processes)

    async def body():
        await make_contacts(stack, "alice", "bob")
        alice = await client(stack, "alice", resource="pc")
        bob = await client(stack, "bob", resource="home")
        carol = await client(stack, "carol", resource="lab")
        try:
            for asker in (bob, alice):
                info = await asker.plugin["xep_0030"].get_info(jid("alice"), cached=False)
                assert info["from"] == jid("alice")
                assert set(info["disco_info"]["identities"]) == {("account", "registered", None, None)}
                assert set(info["disco_info"]["features"]) == ACCOUNT_FEATURES
                items = await asker.plugin["xep_0030"].get_items(jid("alice"))
                assert {j for j, _, _ in items["disco_items"]["items"]} == {jid("alice", "pc")}
                for request in (asker.plugin["xep_0030"].get_info, asker.plugin["xep_0030"].get_items):
                    assert await refused(request(jid("alice"), node="x")) == ("cancel", "item-not-found")
            # RFC 6120 §10.3.3: without `to`, the same question is about the user's own account.
            own = await alice.iq(None, "get", ET.Element(f"{{{INFO}}}query"))
            assert own["type"] == "result", own
            assert own.xml.find(f"{{{INFO}}}query/{{{INFO}}}identity").get("category") == "account"
            for target in (jid("alice"), jid("nobody")):
                assert await refused(carol.plugin["xep_0030"].get_info(target, cached=False)) == \
                    ("cancel", "service-unavailable")
                empty = await carol.plugin["xep_0030"].get_items(target)
                assert empty["type"] == "result" and list(empty["disco_items"]["items"]) == []
                assert empty["from"] == target
        finally:
            for c in (alice, bob, carol):
                await c.close()

    scenario(stack, ["alice", "bob", "carol"], body)


def test_ping_server_account_and_errors(workdir, processes):
    """XEP-0199 §4.2: a ping to the domain, to the user's own bare JID or without `to` gets a
    result from the server; §4.4: a ping to another user's bare JID is answered by the server on
    the user's behalf, online or not; a user that does not exist, or a resource that is not
    connected (§7), gives service-unavailable; the resource itself answers its full JID."""
    stack = start_stack(workdir, processes)

    async def body():
        alice = await client(stack, "alice", resource="pc")
        bob = await client(stack, "bob", resource="home")
        try:
            for target in (DOMAIN, jid("alice"), jid("bob"), jid("bob", "home")):
                assert await alice.plugin["xep_0199"].ping(target, timeout=DEFAULT_TIMEOUT) >= 0
            pong = await alice.iq(None, "get", ET.Element("{urn:xmpp:ping}ping"))
            assert pong["type"] == "result", pong
            for target in (jid("nobody"), jid("bob", "gone")):
                error = await refused(alice.plugin["xep_0199"].send_ping(target, timeout=DEFAULT_TIMEOUT))
                assert error == ("cancel", "service-unavailable"), (target, error)
            await barrier(alice, bob)
            # Only the full-JID ping reached bob's client.
            assert len(leftovers(bob.iqs, lambda iq: iq.xml.find("{urn:xmpp:ping}ping") is not None)) == 1
            await bob.close()
            assert await alice.plugin["xep_0199"].ping(jid("bob"), timeout=DEFAULT_TIMEOUT) >= 0
        finally:
            await alice.close()
            await bob.close()

    scenario(stack, ["alice", "bob"], body)


def test_version_and_time(workdir, processes):
    """XEP-0092: name and version (the workspace's), and by default the OS; XEP-0202: UTC time
    and offset. Neither is served on an account's behalf: service-unavailable at a bare JID."""
    stack = start_stack(workdir, processes)
    version = tomllib.loads((REPO_ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]

    async def body():
        alice = await client(stack, "alice")
        try:
            answer = await alice.plugin["xep_0092"].get_version(DOMAIN)
            assert answer["from"] == DOMAIN
            assert answer["software_version"]["name"] == "Starling"
            assert answer["software_version"]["version"] == version
            assert answer["software_version"]["os"]
            before = datetime.datetime.now(datetime.timezone.utc)
            answer = await alice.plugin["xep_0202"].get_entity_time(DOMAIN)
            after = datetime.datetime.now(datetime.timezone.utc)
            utc = answer.xml.find("{urn:xmpp:time}time/{urn:xmpp:time}utc").text
            tzo = answer.xml.find("{urn:xmpp:time}time/{urn:xmpp:time}tzo").text
            assert tzo == "+00:00"
            stamp = datetime.datetime.strptime(utc, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
            assert before.replace(microsecond=0) <= stamp <= after, (before, utc, after)
            for request in (alice.plugin["xep_0092"].get_version, alice.plugin["xep_0202"].get_entity_time):
                assert await refused(request(jid("alice"))) == ("cancel", "service-unavailable")
        finally:
            await alice.close()

    scenario(stack, ["alice"], body)


def test_version_without_the_operating_system(workdir, processes):
    """XEP-0092 §5: the administrator can keep the OS to themselves (`[version] os = false`)."""
    stack = start_stack(workdir, processes, sm_tables={"version": {"os": False}})

    async def body():
        alice = await client(stack, "alice")
        try:
            answer = await alice.plugin["xep_0092"].get_version(DOMAIN)
            query = answer.xml.find("{jabber:iq:version}query")
            assert [child.tag.split("}")[1] for child in query] == ["name", "version"]
        finally:
            await alice.close()

    scenario(stack, ["alice"], body)


def test_last_activity(workdir, processes):
    """XEP-0012: the server's uptime (§5, no text); a user's last activity for the user and
    those who may see the user's presence (§3): 0 while online, else the seconds since the
    logout and the status of the last unavailable presence; forbidden to anyone else, also for
    a full JID, which is otherwise the resource's to answer (§4)."""
    stack = start_stack(workdir, processes)

    async def seconds_and_status(asker, target):
        answer = await asker.plugin["xep_0012"].get_last_activity(target)
        assert answer["from"] == target
        return answer["last_activity"]["seconds"], answer.xml.find(f"{{{LAST}}}query").text

    async def body():
        await make_contacts(stack, "alice", "bob")
        await make_contacts(stack, "alice", "dave")
        # dave withdraws alice's subscription to his presence: alice's roster keeps dave with
        # `from` (he may see her), dave's keeps alice with `to` (she may not see him).
        dave = await client(stack, "dave", resource="desk")
        dave.send_presence(pto=jid("alice"), ptype="unsubscribed")
        await dave.ping_server()
        bob = await client(stack, "bob", resource="home")
        carol = await client(stack, "carol", resource="lab")
        alice = await client(stack, "alice", resource="pc")
        try:
            uptime, text = await seconds_and_status(bob, DOMAIN)
            assert 0 <= uptime < 600 and not text
            for asker in (bob, dave, alice):
                assert await seconds_and_status(asker, jid("alice")) == (0, None)
            own = await alice.iq(None, "get", ET.Element(f"{{{LAST}}}query"))
            assert own.xml.find(f"{{{LAST}}}query").get("seconds") == "0"
            for asker, target in ((carol, jid("alice")), (carol, jid("alice", "pc")), (alice, jid("dave"))):
                error = await refused(asker.plugin["xep_0012"].get_last_activity(target))
                assert error == ("auth", "forbidden"), (asker.boundjid, target, error)
            assert await refused(bob.plugin["xep_0012"].get_last_activity(jid("nobody"))) == \
                ("cancel", "service-unavailable")
            # bob may ask alice's resource: the query reaches it; carol's never did.
            await refused(bob.plugin["xep_0012"].get_last_activity(jid("alice", "pc")))
            await barrier(carol, alice)
            asked = leftovers(alice.iqs, lambda iq: iq.xml.find(f"{{{LAST}}}query") is not None
                              and iq["type"] == "get")
            assert [iq["from"].bare for iq in asked] == [jid("bob")], asked
            alice.send_presence(ptype="unavailable", pstatus="Heading Home")
            await alice.close()

            async def logged_out() -> bool:
                return (await seconds_and_status(bob, jid("alice")))[1] == "Heading Home"

            await eventually(logged_out, "alice's logout recorded")
            await asyncio.sleep(1.1)
            seconds, status = await seconds_and_status(dave, jid("alice"))
            assert 1 <= seconds < 60 and status == "Heading Home"
            assert await refused(carol.plugin["xep_0012"].get_last_activity(jid("alice"))) == ("auth", "forbidden")
        finally:
            for c in (alice, bob, carol, dave):
                await c.close()

    scenario(stack, ["alice", "bob", "carol", "dave"], body)
