"""XEP-0016 privacy lists on the all-Starling stack: managing lists through slixmpp's xep_0016
plugin (names, get, edit, remove, active and default lists, pushes to every resource, lists that
survive a new login), the errors the XEP defines as raw IQs (item-not-found, bad-request for bad
values, conflict with another resource), and the lists at work: the default list for the
account (offline too, with roster groups and subscriptions as they are now), active lists for
their session only, and XEP-0191's blocklist as the default list's blocked JIDs. Nothing leaks:
checked behind barriers through a third user."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import partial

from helpers.privacy_checks import (
    BLOCKING, PRIVACY, answer, blocking, client, close_all, error, is_list_push, is_push, item, names, ok,
    plist, ptype, pushed_jids, query, refused,
)
from helpers.privacy_checks import scenario as privacy_scenario
from helpers.stack import DOMAIN
from helpers.stack_checks import barrier, forget, from_bare, jid, leftovers
from helpers.xmpp import DEFAULT_TIMEOUT

PING = "{urn:xmpp:ping}ping"


scenario = partial(privacy_scenario, timeout=150)


def items_of(reply, name: str) -> list[tuple]:
    """(type, value, action, order, child names) of each item of list `name` in a result."""
    lst = reply.xml.find(f"{{{PRIVACY}}}query/{{{PRIVACY}}}list[@name='{name}']")
    assert lst is not None, reply
    return [(i.get("type"), i.get("value"), i.get("action"), i.get("order"),
             sorted(c.tag.split("}")[1] for c in i)) for i in lst]


def presence_from(full: str, typ: str = "available"):
    return lambda p: p["from"] == full and ptype(p) == typ


async def delivered(sender, receiver, to: str, mid: str):
    sender.send_chat(to, mid, msg_id=mid)
    await receiver.wait_message(lambda m: m["id"] == mid, what=f"message {mid}")


async def bounced(sender, to: str, mid: str):
    sender.send_chat(to, mid, msg_id=mid)
    bounce = await sender.wait_message(lambda m: m["id"] == mid, what=f"the bounce of {mid}")
    assert refused(bounce, "service-unavailable"), bounce


def test_lists_are_managed_and_pushed(workdir, processes):
    """§2.3–2.8 through slixmpp's plugin: no lists at first; a list created, read back, replaced
    whole and removed, each change pushed to every resource by name only; the active list is the
    session's, the default the account's; lists and the default survive a new login, the active
    list does not; the feature at the domain."""

    async def body(stack):
        pc = await client(stack, "alice", resource="pc")
        phone = await client(stack, "alice", resource="phone")
        try:
            privacy = pc.plugin["xep_0016"]
            assert names(await privacy.get_privacy_lists(timeout=DEFAULT_TIMEOUT)) == (None, None, [])
            await privacy.edit_list("public", [
                {"type": "jid", "value": "tybalt@example.com", "action": "deny", "order": "1"},
                {"value": None, "action": "allow", "order": "2"},
            ], timeout=DEFAULT_TIMEOUT)
            for c in (pc, phone):
                await c.iqs.wait(is_list_push("public"), DEFAULT_TIMEOUT, "push of public")
            got = await phone.plugin["xep_0016"].get_list("public", timeout=DEFAULT_TIMEOUT)
            assert items_of(got, "public") == [("jid", "tybalt@example.com", "deny", "1", []),
                                               (None, None, "allow", "2", [])]
            await privacy.edit_list("private", [
                {"type": "subscription", "value": "both", "action": "allow", "order": "10"},
                # (Not presence_in: the plugin's presence_out setter removes <presence-in/>.)
                {"value": None, "action": "deny", "order": "15", "message": True, "iq": True},
            ], timeout=DEFAULT_TIMEOUT)
            special = plist("special", item("allow", 6, "group", None), item("deny", 666, None, None, "presence-out"))
            special[0].set("value", "Friends")
            assert await error(pc, query(special)) == ("cancel", "item-not-found")
            await ok(pc, query(plist("special", item("deny", 7, "jid", "example.org", "presence-out"),
                                      item("deny", 666, None, None, "presence-out"))))
            got = await privacy.get_list("private", timeout=DEFAULT_TIMEOUT)
            assert items_of(got, "private") == [("subscription", "both", "allow", "10", []),
                                                (None, None, "deny", "15", ["iq", "message"])]
            got = await privacy.get_list("special", timeout=DEFAULT_TIMEOUT)
            assert items_of(got, "special") == [("jid", "example.org", "deny", "7", ["presence-out"]),
                                                (None, None, "deny", "666", ["presence-out"])]
            await privacy.make_default("public", timeout=DEFAULT_TIMEOUT)
            await privacy.activate("private", timeout=DEFAULT_TIMEOUT)
            assert names(await privacy.get_privacy_lists(timeout=DEFAULT_TIMEOUT)) == \
                ("private", "public", ["private", "public", "special"])
            assert names(await phone.plugin["xep_0016"].get_privacy_lists(timeout=DEFAULT_TIMEOUT)) == \
                (None, "public", ["private", "public", "special"])
            # An edit replaces the whole list (§2.6: not a delta).
            await phone.plugin["xep_0016"].edit_list("public", [
                {"type": "jid", "value": "paris@example.org", "action": "deny", "order": "5"},
            ], timeout=DEFAULT_TIMEOUT)
            for c in (pc, phone):
                await c.iqs.wait(is_list_push("public"), DEFAULT_TIMEOUT, "push of the edit")
            got = await pc.plugin["xep_0016"].get_list("public", timeout=DEFAULT_TIMEOUT)
            assert items_of(got, "public") == [("jid", "paris@example.org", "deny", "5", [])]
            await phone.plugin["xep_0016"].remove_list("special", timeout=DEFAULT_TIMEOUT)
            for c in (pc, phone):
                await c.iqs.wait(is_list_push("special"), DEFAULT_TIMEOUT, "push of the removal")
            assert await error(pc, query(plist("special")), "get") == ("cancel", "item-not-found")
            info = await pc.plugin["xep_0030"].get_info(DOMAIN, cached=False)
            assert PRIVACY in set(info["disco_info"]["features"])
        finally:
            await close_all(pc, phone)
        again = await client(stack, "alice", resource="pc")
        try:
            assert names(await again.plugin["xep_0016"].get_privacy_lists(timeout=DEFAULT_TIMEOUT)) == \
                (None, "public", ["private", "public"])
        finally:
            await again.close()

    scenario(workdir, processes, body)


def test_privacy_errors(workdir, processes):
    """The errors of §2.1–2.8: a list, active or default list that does not exist is
    item-not-found; two lists at once, a set with several children, or a bad item (no or a
    repeated order, a bad action, type, JID or subscription) is a bad-request; a group the roster
    does not have is item-not-found; changing, declining or removing the default list, or
    removing a list, while another resource applies it is a conflict; past max_privacy_items,
    not-acceptable; nobody else may read or set the user's lists. None of these changes
    anything."""

    async def body(stack):
        pc = await client(stack, "alice", resource="pc")
        phone = await client(stack, "alice", resource="phone")
        bob = await client(stack, "bob", resource="home")
        try:
            await ok(pc, query(plist("a", item("deny", 1, "jid", jid("carol")))))
            await ok(pc, query(plist("b", item("deny", 1, "jid", jid("dave")))))
            not_found = [
                ("get", query(plist("nope"))),
                ("set", query(ET.Element(f"{{{PRIVACY}}}active", {"name": "nope"}))),
                ("set", query(ET.Element(f"{{{PRIVACY}}}default", {"name": "nope"}))),
                ("set", query(plist("nope"))),
                ("set", query(plist("g", item("deny", 1, "group", "Nobody's group")))),
            ]
            for itype, payload in not_found:
                assert await error(pc, payload, itype) == ("cancel", "item-not-found"), ET.tostring(payload)
            bad = [
                ("get", query(plist("a"), plist("b"))),
                ("get", query(ET.Element(f"{{{PRIVACY}}}active"))),
                ("get", query(plist(None))),
                ("set", query(plist("a", item("deny", 1)), plist("b", item("deny", 1)))),
                ("set", query(ET.Element(f"{{{PRIVACY}}}active", {"name": "a"}),
                              ET.Element(f"{{{PRIVACY}}}default", {"name": "a"}))),
                ("set", query()),
                ("set", query(plist(None, item("deny", 1)))),
                ("set", query(plist("c", item("deny", 1), item("allow", 1)))),
                ("set", query(plist("c", item("deny", -1)))),
                ("set", query(plist("c", item("deny", "first")))),
                ("set", query(plist("c", item("block", 1)))),
                ("set", query(plist("c", item("deny", 1, "nickname", "x")))),
                ("set", query(plist("c", item("deny", 1, "jid", "@nobody")))),
                ("set", query(plist("c", item("deny", 1, "jid")))),
                ("set", query(plist("c", item("deny", 1, "subscription", "remove")))),
            ]
            for itype, payload in bad:
                assert await error(pc, payload, itype) == ("modify", "bad-request"), ET.tostring(payload)
            no_order = query(plist("c", item("deny", 1)))
            del no_order[0][0].attrib["order"]
            assert await error(pc, no_order) == ("modify", "bad-request")
            # Phone applies the default list (it has no active list): pc may not change it.
            await ok(pc, query(ET.Element(f"{{{PRIVACY}}}default", {"name": "a"})))
            conflicts = [
                query(ET.Element(f"{{{PRIVACY}}}default", {"name": "b"})),
                query(ET.Element(f"{{{PRIVACY}}}default")),
                query(plist("a")),
            ]
            for payload in conflicts:
                assert await error(pc, payload) == ("cancel", "conflict"), ET.tostring(payload)
            # Setting the default list it already is changes nothing, so it is no conflict.
            await ok(pc, query(ET.Element(f"{{{PRIVACY}}}default", {"name": "a"})))
            # Phone's active list may not be removed by pc either.
            await ok(phone, query(ET.Element(f"{{{PRIVACY}}}active", {"name": "b"})))
            assert await error(pc, query(plist("b"))) == ("cancel", "conflict")
            # With phone on its active list, pc alone applies the default: all of it is allowed.
            await ok(pc, query(ET.Element(f"{{{PRIVACY}}}default", {"name": "b"})))
            await ok(pc, query(ET.Element(f"{{{PRIVACY}}}default")))
            await ok(pc, query(plist("a")))
            # A resource may remove the list it applies itself.
            await ok(phone, query(plist("b")))
            assert names(await answer(phone, query(), "get")) == (None, None, [])
            # The limit counts the items of all lists.
            await ok(pc, query(plist("x", item("deny", 1), item("deny", 2))))
            assert await error(pc, query(plist("y", item("deny", 1), item("deny", 2)))) == \
                ("modify", "not-acceptable")
            assert names(await answer(pc, query(), "get")) == (None, None, ["x"])
            # Someone else's lists.
            for itype, payload in (("get", query()), ("set", query(plist("z", item("deny", 1))))):
                assert await error(bob, payload, itype, jid("alice")) == ("cancel", "service-unavailable")
        finally:
            await close_all(pc, phone, bob)

    scenario(workdir, processes, body, sm_limits={"max_privacy_items": 3})


def test_the_default_list_applies_to_the_account(workdir, processes):
    """§2.2 rule 2: the default list judges what comes for the user, offline too (a refused
    message bounces instead of being stored); items by JID and kind, by subscription, and by
    roster group as the roster is now (rule 9); refused messages and IQs bounce with
    service-unavailable, refused presence is dropped; declining the default list lets
    everything through again."""

    async def body(stack):
        alice = await client(stack, "alice", resource="pc")
        bob = await client(stack, "bob", resource="home")
        carol = await client(stack, "carol", resource="desk")
        dave = await client(stack, "dave", resource="lab")
        try:
            await alice.wait_presence(presence_from(jid("bob", "home")), what="bob's presence")
            assert (await alice.roster_set(jid("bob"), groups=["Work"]))["type"] == "result"
            await ok(alice, query(plist("guard",
                                        item("deny", 1, "jid", jid("carol"), "message"),
                                        item("deny", 2, "subscription", "none", "iq"),
                                        item("deny", 3, "group", "Work", "presence-in"))))
            await ok(alice, query(ET.Element(f"{{{PRIVACY}}}default", {"name": "guard"})))
            # The default list now hides bob's presence: the user hears bob go (§2.9).
            await alice.wait_presence(presence_from(jid("bob"), "unavailable"), what="bob hidden")
            await bounced(carol, jid("alice"), "c-1")
            await delivered(bob, alice, jid("alice"), "b-1")
            await delivered(dave, alice, jid("alice", "pc"), "d-1")
            assert await error(carol, ET.Element(PING), "get", jid("alice", "pc")) == ("cancel", "service-unavailable")
            assert (await answer(bob, ET.Element(PING), "get", jid("alice", "pc")))["type"] == "result"
            forget(alice.presences)
            bob.send_presence(pstatus="busy")
            await bob.ping_server()
            await barrier(dave, alice)
            assert leftovers(alice.presences, from_bare("bob")) == []
            # Rule 9: out of the group, bob's presence comes through again.
            assert (await alice.roster_set(jid("bob"), groups=[]))["type"] == "result"
            bob.send_presence(pstatus="free")
            p = await alice.wait_presence(presence_from(jid("bob", "home")), what="bob's presence again")
            assert p["status"] == "free"
            await alice.close()
            # Offline, the default list still judges: carol's message bounces, bob's is kept.
            await bounced(carol, jid("alice"), "c-2")
            bob.send_chat(jid("alice"), "kept", msg_id="b-2")
            await bob.ping_server()
            alice = await client(stack, "alice", resource="back")
            await alice.wait_message(lambda m: m["id"] == "b-2", what="bob's stored message")
            await barrier(dave, alice)
            assert leftovers(alice.messages, from_bare("carol")) == []
            await ok(alice, query(ET.Element(f"{{{PRIVACY}}}default")))
            await delivered(carol, alice, jid("alice"), "c-3")
        finally:
            await close_all(alice, bob, carol, dave)

    scenario(workdir, processes, body, contacts=(("alice", "bob"),))


def test_active_lists_apply_to_their_session_only(workdir, processes):
    """§2.2 rules 1, 2 and 8: an active list judges for its session alone, the default list for
    the others, with no layering; activating a list that hides the session's presence from a
    contact tells the contact it went away (§2.10), and a list that shows it again sends the
    current presence; a refused bare-JID message goes to the resources that accept it; an edit
    of an active list applies at once; declining the active list brings back the default."""

    async def body(stack):
        pc = await client(stack, "alice", resource="pc")
        phone = await client(stack, "alice", resource="phone")
        bob = await client(stack, "bob", resource="home")
        carol = await client(stack, "carol", resource="desk")
        dave = await client(stack, "dave", resource="lab")
        try:
            for r in ("pc", "phone"):
                await bob.wait_presence(presence_from(jid("alice", r)), what=f"alice/{r}")
            await ok(pc, query(plist("hide", item("deny", 1, "jid", jid("bob"), "presence-out"))))
            await ok(pc, query(plist("mute", item("deny", 1, "jid", jid("bob"), "message"))))
            await ok(pc, query(plist("guard", item("deny", 1, "jid", jid("carol"), "message"))))
            await ok(pc, query(ET.Element(f"{{{PRIVACY}}}default", {"name": "guard"})))
            await ok(pc, query(ET.Element(f"{{{PRIVACY}}}active", {"name": "hide"})))
            await bob.wait_presence(presence_from(jid("alice", "pc"), "unavailable"), what="alice/pc hidden")
            pc.send_presence(pstatus="pc here")
            phone.send_presence(pstatus="phone here")
            p = await bob.wait_presence(presence_from(jid("alice", "phone")), what="phone's update")
            assert p["status"] == "phone here"
            await pc.ping_server()
            await barrier(dave, bob)
            assert leftovers(bob.presences, lambda p: p["from"] == jid("alice", "pc")) == []
            # No layering: pc's active list does not refuse carol, phone's default list does.
            await delivered(carol, pc, jid("alice", "pc"), "c-1")
            await bounced(carol, jid("alice", "phone"), "c-2")
            # Another active list: pc shows itself to bob again, and mutes bob's messages.
            await ok(pc, query(ET.Element(f"{{{PRIVACY}}}active", {"name": "mute"})))
            p = await bob.wait_presence(presence_from(jid("alice", "pc")), what="alice/pc back")
            assert p["status"] == "pc here"
            await bounced(bob, jid("alice", "pc"), "b-1")
            await delivered(bob, phone, jid("alice", "phone"), "b-2")
            # To the bare JID, both resources are the most available: phone alone takes it,
            # and bob hears of no error.
            bob.send_chat(jid("alice"), "both?", msg_id="b-3")
            await phone.wait_message(lambda m: m["id"] == "b-3", what="b-3 at phone")
            await barrier(dave, pc)
            await barrier(dave, bob)
            assert leftovers(pc.messages, from_bare("bob")) == []
            assert leftovers(bob.messages, lambda m: m["id"] == "b-3") == []
            # Rule 8: the edited active list applies at once.
            await ok(phone, query(plist("mute", item("deny", 1, "jid", jid("dave"), "message"))))
            await delivered(bob, pc, jid("alice", "pc"), "b-4")
            await bounced(dave, jid("alice", "pc"), "d-1")
            # Declined, the active list gives way to the default list.
            await ok(pc, query(ET.Element(f"{{{PRIVACY}}}active")))
            await delivered(dave, pc, jid("alice", "pc"), "d-2")
            await bounced(carol, jid("alice", "pc"), "c-3")
        finally:
            await close_all(pc, phone, bob, carol, dave)

    scenario(workdir, processes, body, contacts=(("alice", "bob"),))


def test_the_blocklist_is_the_default_list(workdir, processes):
    """XEP-0191 §5 with XEP-0016: blocked JIDs are the default list's jid items denying
    everything, first in it; editing the default list through XEP-0016 pushes the blocklist's
    changes to the resources that asked for it, and so does a new default list."""

    async def body(stack):
        pc = await client(stack, "alice", resource="pc")
        phone = await client(stack, "alice", resource="phone")
        try:
            assert await pc.plugin["xep_0191"].get_blocked_jids(timeout=DEFAULT_TIMEOUT) == set()
            await ok(phone, query(plist("mine", item("allow", 3, "jid", jid("dave")),
                                        item("deny", 4, "jid", jid("bob")),
                                        item("deny", 5, "jid", jid("carol"), "message"))))
            await ok(phone, query(ET.Element(f"{{{PRIVACY}}}default", {"name": "mine"})))
            push = await pc.iqs.wait(lambda iq: is_push(iq, BLOCKING, "block"), DEFAULT_TIMEOUT, "block push")
            assert pushed_jids(push, "block") == [jid("bob")]
            await pc.plugin["xep_0191"].block("eve@example.org", timeout=DEFAULT_TIMEOUT)
            push = await pc.iqs.wait(lambda iq: is_push(iq, BLOCKING, "block"), DEFAULT_TIMEOUT, "block push")
            assert pushed_jids(push, "block") == ["eve@example.org"]
            await phone.iqs.wait(is_list_push("mine"), DEFAULT_TIMEOUT, "push of mine")
            got = await answer(phone, query(plist("mine")), "get")
            assert items_of(got, "mine") == [("jid", "eve@example.org", "deny", "0", []),
                                             ("jid", jid("dave"), "allow", "1", []),
                                             ("jid", jid("bob"), "deny", "2", []),
                                             ("jid", jid("carol"), "deny", "3", ["message"])]
            await ok(phone, query(plist("mine", item("deny", 1, "jid", "eve@example.org"))))
            push = await pc.iqs.wait(lambda iq: is_push(iq, BLOCKING, "unblock"), DEFAULT_TIMEOUT, "unblock push")
            assert pushed_jids(push, "unblock") == [jid("bob")]
            # pc applies the default list; with an active list of its own, phone may replace it.
            await ok(pc, query(ET.Element(f"{{{PRIVACY}}}active", {"name": "mine"})))
            await ok(phone, query(plist("other", item("deny", 1, "jid", jid("dave")))))
            await ok(phone, query(ET.Element(f"{{{PRIVACY}}}default", {"name": "other"})))
            push = await pc.iqs.wait(lambda iq: is_push(iq, BLOCKING, "block"), DEFAULT_TIMEOUT, "block push")
            assert pushed_jids(push, "block") == [jid("dave")]
            push = await pc.iqs.wait(lambda iq: is_push(iq, BLOCKING, "unblock"), DEFAULT_TIMEOUT, "unblock push")
            assert pushed_jids(push, "unblock") == ["eve@example.org"]
            got = await pc.plugin["xep_0191"].get_blocked_jids(timeout=DEFAULT_TIMEOUT)
            assert {str(j) for j in got} == {jid("dave")}
            # Phone never asked for the blocklist: no blocking pushes for it.
            await barrier(pc, phone)
            assert [iq for iq in phone.iqs.items if is_push(iq, BLOCKING, "block")
                    or is_push(iq, BLOCKING, "unblock")] == []
            assert await error(pc, blocking("unblock", "@"), "set") == ("modify", "jid-malformed")
        finally:
            await close_all(pc, phone)

    scenario(workdir, processes, body)
