"""XEP-0191 blocking command on the all-Starling stack: the normal flows through slixmpp's
xep_0191 plugin (blocklist, block, unblock, unblock all, pushes to every resource that asked for
the blocklist), what a block does (no presence either way, the blocked contact's stanzas bounce
with the errors of §3.3, the user's own stanzas to it refused with <blocked/>, offline too, and
across logins), and the error cases as raw IQs. Nothing leaks: checked behind barriers through a
third user, since the blocked pair cannot exchange markers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError

from helpers.privacy_checks import (
    BLOCKING, answer, blocking, client, close_all, error, is_push, names, ok, ptype, pushed_jids, query,
    refused, scenario,
)
from helpers.stack import DOMAIN
from helpers.stack_checks import barrier, forget, from_bare, jid, leftovers
from helpers.xmpp import DEFAULT_TIMEOUT

INFO = "http://jabber.org/protocol/disco#info"


def test_blocklist_block_unblock_and_pushes(workdir, processes):
    """§3.2–3.5 through slixmpp's plugin: an empty blocklist, then one or more JIDs blocked,
    one unblocked, all unblocked; every change pushed to each resource that asked for the
    blocklist and to no other; the blocklist survives a new login; §3.1 the feature."""

    async def body(stack):
        pc = await client(stack, "alice", resource="pc")
        phone = await client(stack, "alice", resource="phone")
        quiet = await client(stack, "alice", resource="quiet")
        try:
            assert await pc.plugin["xep_0191"].get_blocked_jids(timeout=DEFAULT_TIMEOUT) == set()
            assert await phone.plugin["xep_0191"].get_blocked_jids(timeout=DEFAULT_TIMEOUT) == set()
            blocked = [jid("bob"), "mallory@evil.example", "spam.example"]
            await pc.plugin["xep_0191"].block(blocked, timeout=DEFAULT_TIMEOUT)
            for c in (pc, phone):
                push = await c.iqs.wait(lambda iq: is_push(iq, BLOCKING, "block"), DEFAULT_TIMEOUT, "block push")
                assert sorted(pushed_jids(push, "block")) == sorted(blocked)
            got = await phone.plugin["xep_0191"].get_blocked_jids(timeout=DEFAULT_TIMEOUT)
            assert {str(j) for j in got} == set(blocked)
            await phone.plugin["xep_0191"].unblock(jid("bob"), timeout=DEFAULT_TIMEOUT)
            for c in (pc, phone):
                push = await c.iqs.wait(lambda iq: is_push(iq, BLOCKING, "unblock"), DEFAULT_TIMEOUT, "unblock push")
                assert pushed_jids(push, "unblock") == [jid("bob")]
            got = await pc.plugin["xep_0191"].get_blocked_jids(timeout=DEFAULT_TIMEOUT)
            assert {str(j) for j in got} == {"mallory@evil.example", "spam.example"}
            # §3.5: an empty <unblock/> unblocks everything, and is pushed as such.
            await ok(pc, blocking("unblock"))
            for c in (pc, phone):
                push = await c.iqs.wait(lambda iq: is_push(iq, BLOCKING, "unblock"), DEFAULT_TIMEOUT, "unblock-all push")
                assert pushed_jids(push, "unblock") == []
            assert await pc.plugin["xep_0191"].get_blocked_jids(timeout=DEFAULT_TIMEOUT) == set()
            # The resource that never asked for the blocklist got no blocking push.
            await barrier(pc, quiet)
            assert [iq for iq in quiet.iqs.items if is_push(iq, BLOCKING, "block") or
                    is_push(iq, BLOCKING, "unblock")] == []
            await pc.plugin["xep_0191"].block([jid("carol"), jid("dave")], timeout=DEFAULT_TIMEOUT)
            info = await pc.plugin["xep_0030"].get_info(DOMAIN, cached=False)
            assert BLOCKING in set(info["disco_info"]["features"])
        finally:
            await close_all(pc, phone, quiet)
        again = await client(stack, "alice", resource="later")
        try:
            got = await again.plugin["xep_0191"].get_blocked_jids(timeout=DEFAULT_TIMEOUT)
            assert {str(j) for j in got} == {jid("carol"), jid("dave")}
            # §5: the blocklist is the default privacy list, which XEP-0016 clients see.
            _, default, lists = names(await ok(again, query(), "get"))
            assert default == BLOCKING and lists == [BLOCKING]
        finally:
            await again.close()

    scenario(workdir, processes, body)


def test_a_blocked_contact_and_the_user_do_not_see_each_other(workdir, processes):
    """§3.3: blocking sends the contact unavailable presence from each available resource (and
    the user unavailable presence from the contact); from then on no presence goes either way,
    not even to a resource that logs in later; §3.4: unblocking sends the contact the user's
    current presence, and the user learns the contact's again."""

    async def body(stack):
        alice = await client(stack, "alice", resource="pc")
        bob = await client(stack, "bob", resource="home")
        carol = await client(stack, "carol", resource="desk")
        try:
            await bob.wait_presence(lambda p: p["from"] == jid("alice", "pc") and ptype(p) == "available",
                                    what="alice's presence")
            await alice.wait_presence(lambda p: p["from"] == jid("bob", "home") and ptype(p) == "available",
                                      what="bob's presence")
            await alice.plugin["xep_0191"].block(jid("bob"), timeout=DEFAULT_TIMEOUT)
            await bob.wait_presence(lambda p: p["from"] == jid("alice", "pc") and ptype(p) == "unavailable",
                                    what="alice going away for bob")
            await alice.wait_presence(lambda p: p["from"].bare == jid("bob") and ptype(p) == "unavailable",
                                      what="bob going away for alice")
            forget(alice.presences, bob.presences)
            alice.send_presence(pstatus="still here")
            bob.send_presence(pstatus="me too")
            late = await client(stack, "alice", resource="late")
            await late.ping_server()
            for c in (alice, bob):
                await c.ping_server()
            for receiver in (alice, bob, late):
                await barrier(carol, receiver)
            assert leftovers(bob.presences, from_bare("alice")) == []
            assert leftovers(alice.presences, from_bare("bob")) == []
            assert leftovers(late.presences, from_bare("bob")) == []
            await alice.plugin["xep_0191"].unblock(jid("bob"), timeout=DEFAULT_TIMEOUT)
            for resource, status in (("pc", "still here"), ("late", None)):
                p = await bob.wait_presence(lambda p, r=resource: p["from"] == jid("alice", r), what=f"alice/{resource}")
                assert ptype(p) == "available" and (status is None or p["status"] == status)
            for c in (alice, late):
                p = await c.wait_presence(lambda p: p["from"] == jid("bob", "home"), what="bob again")
                assert p["status"] == "me too"
            await late.close()
        finally:
            await close_all(alice, bob, carol)

    scenario(workdir, processes, body, contacts=(("alice", "bob"),))


def test_stanzas_from_and_to_a_blocked_jid(workdir, processes):
    """§3.3: a blocked JID's messages and IQ gets/sets bounce with service-unavailable (to the
    user's full or bare JID, or an account service like vcard), its presence and subscription
    requests are dropped unanswered; what the user sends it is refused with not-acceptable and
    <blocked/>; a domain blocks everyone at it. Others are not affected; unblocking delivers
    again."""

    async def body(stack):
        alice = await client(stack, "alice", resource="pc")
        bob = await client(stack, "bob", resource="home")
        carol = await client(stack, "carol", resource="desk")
        try:
            await alice.plugin["xep_0191"].block([jid("bob")], timeout=DEFAULT_TIMEOUT)
            await bob.wait_presence(lambda p: p["from"] == jid("alice", "pc") and ptype(p) == "unavailable",
                                    what="alice going away for bob")
            await alice.wait_presence(lambda p: p["from"] == jid("bob") and ptype(p) == "unavailable",
                                      what="bob going away for alice")
            forget(alice.presences, bob.presences)
            for to in (jid("alice", "pc"), jid("alice")):
                bob.send_chat(to, "hello?", msg_id=f"m-{to}")
                bounce = await bob.wait_message(lambda m, to=to: m["id"] == f"m-{to}", what="the bounce")
                assert refused(bounce, "service-unavailable") and bounce["from"] == to
            for to, payload in ((jid("alice", "pc"), ET.Element("{urn:xmpp:ping}ping")),
                                (jid("alice"), ET.Element("{vcard-temp}vCard"))):
                assert await error(bob, payload, "get", to) == ("cancel", "service-unavailable")
            bob.send_presence(pto=jid("alice"), ptype="subscribe")
            bob.send_presence(pto=jid("alice"), ptype="probe")
            bob.send_presence(pto=jid("alice", "pc"), pstatus="directed")
            await bob.ping_server()
            await barrier(carol, alice)
            assert leftovers(alice.messages, from_bare("bob")) == []
            assert leftovers(alice.presences, from_bare("bob")) == []
            assert [iq for iq in alice.iqs.items if iq["from"].bare == jid("bob")] == []
            await barrier(carol, bob)
            assert leftovers(bob.presences, from_bare("alice")) == []
            forget(bob.iqs)
            # The user's own stanzas to the blocked JID.
            msg = alice.send_chat(jid("bob"), "psst", msg_id="out-1")
            refusal = await alice.wait_message(lambda m: m["id"] == "out-1", what="the refusal")
            assert refused(refusal, "not-acceptable", blocked=True), refusal
            assert refusal["from"] == jid("bob") and refusal["body"] == msg["body"]
            reply = await answer(alice, ET.Element("{urn:xmpp:ping}ping"), "get", jid("bob", "home"))
            assert refused(reply, "not-acceptable", blocked=True), reply
            alice.send_presence(pto=jid("bob", "home"), pstatus="directed")
            refusal = await alice.wait_presence(lambda p: p["from"] == jid("bob", "home") and ptype(p) == "error",
                                                what="the refused directed presence")
            assert refused(refusal, "not-acceptable", blocked=True)
            await barrier(carol, bob)
            assert leftovers(bob.messages, from_bare("alice")) == []
            assert leftovers(bob.presences, from_bare("alice")) == []
            assert [iq for iq in bob.iqs.items if iq["from"].bare == jid("alice")] == []
            # Carol is not affected.
            carol.send_chat(jid("alice"), "hi", msg_id="c-1")
            await alice.wait_message(lambda m: m["id"] == "c-1", what="carol's message")
            # Unblocked, bob gets through both ways.
            await alice.plugin["xep_0191"].unblock([jid("bob")], timeout=DEFAULT_TIMEOUT)
            bob.send_chat(jid("alice", "pc"), "now?", msg_id="m-2")
            await alice.wait_message(lambda m: m["id"] == "m-2", what="bob's message")
            alice.send_chat(jid("bob", "home"), "yes", msg_id="out-2")
            await bob.wait_message(lambda m: m["id"] == "out-2", what="alice's answer")
            # A domain blocks every address at it (XEP-0016 §2.1).
            await alice.plugin["xep_0191"].block(DOMAIN, timeout=DEFAULT_TIMEOUT)
            carol.send_chat(jid("alice", "pc"), "blocked too", msg_id="c-2")
            bounce = await carol.wait_message(lambda m: m["id"] == "c-2", what="carol's bounce")
            assert refused(bounce, "service-unavailable")
            # The user's own server and resources are never blocked.
            assert (await alice.ping_server())["type"] == "result"
            alice.send_chat(jid("alice"), "note to self", msg_id="self-1")
            await alice.wait_message(lambda m: m["id"] == "self-1", what="the note to self")
        finally:
            await close_all(alice, bob, carol)

    scenario(workdir, processes, body, contacts=(("alice", "bob"),))


def test_the_block_holds_while_offline_and_across_logins(workdir, processes):
    """§3.3: the block applies across sessions: with the user offline, the blocked JID's
    message bounces instead of being stored, while others' messages are stored; at the next
    login nothing of the blocked JID arrives."""

    async def body(stack):
        alice = await client(stack, "alice", resource="pc")
        await alice.plugin["xep_0191"].block(jid("bob"), timeout=DEFAULT_TIMEOUT)
        await alice.close()
        bob = await client(stack, "bob", resource="home")
        carol = await client(stack, "carol", resource="desk")
        try:
            bob.send_chat(jid("alice"), "are you there?", msg_id="b-1")
            bounce = await bob.wait_message(lambda m: m["id"] == "b-1", what="the bounce")
            assert refused(bounce, "service-unavailable")
            carol.send_chat(jid("alice"), "for later", msg_id="c-1")
            await carol.ping_server()
            alice = await client(stack, "alice", resource="back")
            await alice.wait_message(lambda m: m["id"] == "c-1", what="carol's stored message")
            await barrier(carol, alice)
            assert leftovers(alice.messages, from_bare("bob")) == []
            assert leftovers(alice.presences, from_bare("bob")) == []
            await alice.close()
        finally:
            await close_all(bob, carol)

    scenario(workdir, processes, body, contacts=(("alice", "bob"),))


def test_blocking_errors(workdir, processes):
    """§3.3: <block/> without an item is a bad-request; an item without a JID is a bad-request,
    one with an invalid JID jid-malformed; a get of <block/> or a set of <blocklist/> is a bad
    request; nobody else may block for the user; past max_privacy_items, not-acceptable. None of
    these changes the blocklist."""

    async def body(stack):
        alice = await client(stack, "alice", resource="pc")
        bob = await client(stack, "bob", resource="home")
        try:
            await alice.plugin["xep_0191"].block(jid("carol"), timeout=DEFAULT_TIMEOUT)
            assert await error(alice, blocking("block")) == ("modify", "bad-request")
            no_jid = blocking("block")
            ET.SubElement(no_jid, f"{{{BLOCKING}}}item")
            assert await error(alice, no_jid) == ("modify", "bad-request")
            assert await error(alice, blocking("block", "@bad")) == ("modify", "jid-malformed")
            assert await error(alice, blocking("unblock", "a@b@c")) == ("modify", "jid-malformed")
            assert await error(alice, blocking("block", jid("dave")), "get") == ("modify", "bad-request")
            assert await error(alice, blocking("blocklist")) == ("modify", "bad-request")
            for itype, payload in (("get", blocking("blocklist")), ("set", blocking("block", jid("dave")))):
                assert await error(bob, payload, itype, jid("alice")) == ("cancel", "service-unavailable")
            # The limit: one blocked already, two more fit, a third does not.
            await alice.plugin["xep_0191"].block([jid("dave"), "x@example.org"], timeout=DEFAULT_TIMEOUT)
            assert await error(alice, blocking("block", "y@example.org")) == ("modify", "not-acceptable")
            got = await alice.plugin["xep_0191"].get_blocked_jids(timeout=DEFAULT_TIMEOUT)
            assert {str(j) for j in got} == {jid("carol"), jid("dave"), "x@example.org"}
            # Blocking what is blocked already changes nothing and still succeeds.
            await alice.plugin["xep_0191"].block(jid("dave"), timeout=DEFAULT_TIMEOUT)
            try:
                await alice.plugin["xep_0191"].unblock("nobody@example.org", timeout=DEFAULT_TIMEOUT)
            except IqError as e:
                raise AssertionError(f"unblocking a JID not blocked failed: {e.iq}")
        finally:
            await close_all(alice, bob)

    scenario(workdir, processes, body, sm_limits={"max_privacy_items": 3})
