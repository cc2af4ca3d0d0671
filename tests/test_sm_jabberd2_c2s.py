"""starling-sm end to end, with Debian jabberd2's c2s on starling-router (the mixed interop the
issue asks for): jabberd2's c2s does registration (→ `create` to our sm), login (→ `start`) and
carries the stanzas; everything RFC 6121 is our sm's doing.

Synchronisation: the sm handles packets in order and c2s keeps per-connection order, so a ping
answered to a client proves everything that client sent before it was processed, and a ping
answered to the recipient proves everything the sm sent it before has arrived. "Nothing
arrived" is checked after both pings, never after a sleep.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from helpers.smstack import DOMAIN, error_condition, login, query_ver, register, roster_items, start_stack
from helpers.xmpp import run_async

pytestmark = pytest.mark.usefixtures("jabberd2_required")

ALICE, BOB, CAROL = f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}"


@pytest.fixture
def stack(workdir, processes):
    return start_stack(workdir, processes)


async def barrier(*clients):
    for c in clients:
        await c.ping_server()


def test_chat_both_ways_and_errors(stack):
    async def scenario():
        await register(stack, "alice", "bob")
        a = await login(stack, f"{ALICE}/laptop", "alice-pw")
        b = await login(stack, f"{BOB}/phone", "bob-pw")
        try:
            a.send_chat(BOB, "hello bob", msg_id="m1")
            m = await b.wait_message(lambda m: m["body"] == "hello bob")
            assert m["from"].full == f"{ALICE}/laptop" and m["id"] == "m1"
            b.send_chat(f"{ALICE}/laptop", "hello alice")
            m = await a.wait_message(lambda m: m["body"] == "hello alice")
            assert m["from"].full == f"{BOB}/phone"

            # RFC 6120 §8.4: an IQ in a namespace nobody serves → service-unavailable.
            answer = await a.iq(DOMAIN, "get", ET.Element("{urn:example:nothing}query"))
            assert answer["type"] == "error" and error_condition(answer) == "service-unavailable"
            answer = await a.iq(BOB, "get", ET.Element("{urn:example:nothing}query"))
            assert error_condition(answer) == "service-unavailable"
            # Results are never answered; two children is a bad request.
            two = ET.Element("{urn:xmpp:ping}ping")
            iq = a.make_iq(itype="get", ito=DOMAIN)
            iq.append(two)
            iq.append(ET.Element("{urn:xmpp:ping}ping"))
            try:
                await iq.send(timeout=10)
                raise AssertionError("two children accepted")
            except Exception as e:  # IqError
                assert error_condition(e.iq) == "bad-request"

            # RFC 6121 §8.5.1: a message to a user that does not exist bounces.
            a.send_chat(f"nobody@{DOMAIN}", "anyone?", msg_id="lost")
            err = await a.wait_message(lambda m: m["type"] == "error")
            assert err["id"] == "lost" and error_condition(err) == "service-unavailable"
            # groupchat to a bare JID bounces too (§8.5.2.1.1).
            msg = a.make_message(mto=BOB, mbody="room?", mtype="groupchat")
            msg["id"] = "gc"
            msg.send()
            err = await a.wait_message(lambda m: m["type"] == "error" and m["id"] == "gc")
            assert error_condition(err) == "service-unavailable"
        finally:
            await a.close()
            await b.close()

    run_async(scenario(), timeout=90)
    assert stack.sm.process.is_running(), stack.sm.process.tail()


def test_two_resources_bare_jid_goes_to_highest_priority(stack):
    async def scenario():
        await register(stack, "alice", "bob")
        low = await login(stack, f"{BOB}/low", "bob-pw", priority=1)
        high = await login(stack, f"{BOB}/high", "bob-pw", priority=5)
        neg = await login(stack, f"{BOB}/neg", "bob-pw", priority=-1)
        a = await login(stack, f"{ALICE}/laptop", "alice-pw")
        try:
            a.send_chat(BOB, "to the bare jid")
            m = await high.wait_message(lambda m: m["body"] == "to the bare jid")
            assert m["to"].bare == BOB
            # A full JID reaches exactly that resource, even a negative one.
            a.send_chat(f"{BOB}/neg", "to neg")
            await neg.wait_message(lambda m: m["body"] == "to neg")
            # A headline goes to every non-negative resource.
            a.make_message(mto=BOB, mbody="news", mtype="headline").send()
            await high.wait_message(lambda m: m["body"] == "news")
            await low.wait_message(lambda m: m["body"] == "news")
            # An unavailable full JID falls back to the bare-JID rules.
            a.send_chat(f"{BOB}/gone", "fallback")
            await high.wait_message(lambda m: m["body"] == "fallback")
            await barrier(a, low, high, neg)
            assert not [m for m in low.messages.items if m["body"] in ("to the bare jid", "fallback")]
            assert not [m for m in neg.messages.items if m["body"] in ("to the bare jid", "news", "fallback")]
            # The other resources saw each other's presence (RFC 6121 §4.2.2).
            await low.wait_presence(lambda p: p["from"].full == f"{BOB}/high")
        finally:
            for c in (a, low, high, neg):
                await c.close()

    run_async(scenario(), timeout=120)


def test_offline_message_is_delivered_with_delay_at_next_login(stack):
    async def scenario():
        await register(stack, "alice", "bob")
        a = await login(stack, f"{ALICE}/laptop", "alice-pw")
        try:
            a.send_chat(BOB, "while you were out", msg_id="off1")
            a.send_chat(BOB, "second", msg_id="off2")
            await a.ping_server()
            # A session with negative priority does not trigger the flush…
            b = await login(stack, f"{BOB}/phone", "bob-pw", priority=-1)
            await b.ping_server()
            assert not [m for m in b.messages.items if m["body"]]
            # …its first non-negative presence does, oldest first, with XEP-0203 delay.
            b.send_presence(ppriority=0)
            m1 = await b.wait_message(lambda m: m["body"] == "while you were out")
            m2 = await b.wait_message(lambda m: m["body"] == "second")
            for m in (m1, m2):
                delay = m.xml.find("{urn:xmpp:delay}delay")
                assert delay is not None and delay.get("from") == DOMAIN and delay.get("stamp", "").endswith("Z")
                assert m["from"].full == f"{ALICE}/laptop"
            await b.close()
            # Delivered once: a new login gets nothing.
            b = await login(stack, f"{BOB}/phone", "bob-pw")
            await b.ping_server()
            assert not [m for m in b.messages.items if m["body"]]
            await b.close()
        finally:
            await a.close()

    run_async(scenario(), timeout=90)


def test_roster_get_set_remove_push_and_versioning(stack):
    async def scenario():
        await register(stack, "alice")
        a1 = await login(stack, f"{ALICE}/one", "alice-pw")
        a2 = await login(stack, f"{ALICE}/two", "alice-pw")
        try:
            empty = await a1.roster_get(ver="")
            assert roster_items(empty) == {} and query_ver(empty) is not None
            v0 = query_ver(empty)
            await a2.roster_get()  # a2 is interested too

            res = await a1.roster_set("romeo@example.net", name="Romeo", groups=["Friends"])
            assert res["type"] == "result"
            for c in (a1, a2):
                push = await c.wait_push(lambda iq: "romeo@example.net" in roster_items(iq))
                item = roster_items(push)["romeo@example.net"]
                assert item.get("name") == "Romeo" and item.get("subscription") == "none"
                assert [g.text for g in item] == ["Friends"]
            v1 = query_ver(push)
            assert v1 != v0

            res = await a1.roster_set("mercutio@example.net")
            await a1.wait_push(lambda iq: "mercutio@example.net" in roster_items(iq))
            res = await a1.roster_set("romeo@example.net", remove=True)
            assert res["type"] == "result"
            push = await a2.wait_push(lambda iq: roster_items(iq).get("romeo@example.net") is not None
                                      and roster_items(iq)["romeo@example.net"].get("subscription") == "remove")
            await a1.wait_push(lambda iq: roster_items(iq).get("romeo@example.net") is not None
                               and roster_items(iq)["romeo@example.net"].get("subscription") == "remove")
            v3 = query_ver(push)

            full = await a1.roster_get()
            assert set(roster_items(full)) == {"mercutio@example.net"}

            # Errors (RFC 6121 §2.3.3, §2.5.3).
            assert error_condition(await a1.roster_set("a@example.net", extra_item="b@example.net")) == "bad-request"
            assert error_condition(await a1.roster_set("not a jid@@")) == "bad-request"
            assert error_condition(await a1.roster_set("nobody@example.net", remove=True)) == "item-not-found"
            assert error_condition(await a1.roster_set("x@example.net", groups=[""])) == "not-acceptable"

            # XEP-0237: the current version → empty result; an old one → exactly the missed pushes.
            a3 = await login(stack, f"{ALICE}/three", "alice-pw")
            same = await a3.roster_get(ver=v3)
            assert same["type"] == "result" and same.xml.find(f"{{jabber:iq:roster}}query") is None
            old = await a3.roster_get(ver=v1)
            assert old.xml.find(f"{{jabber:iq:roster}}query") is None
            p1 = await a3.wait_push()
            p2 = await a3.wait_push()
            got = [(jid, i.get("subscription")) for p in (p1, p2) for jid, i in roster_items(p).items()]
            assert got == [("mercutio@example.net", "none"), ("romeo@example.net", "remove")]
            assert query_ver(p2) == v3
            await a3.ping_server()
            assert not a3.pushes.items
            await a3.close()
        finally:
            await a1.close()
            await a2.close()

    run_async(scenario(), timeout=90)


def test_subscription_while_offline_then_presence(stack):
    async def scenario():
        await register(stack, "alice", "bob", "carol")
        a = await login(stack, f"{ALICE}/laptop", "alice-pw")
        try:
            await a.roster_get()  # interested in pushes (RFC 6121 §2.1.6)
            # Bob is offline: the request waits for him.
            a.send_presence(pto=BOB, ptype="subscribe")
            push = await a.wait_push(lambda iq: BOB in roster_items(iq))
            assert roster_items(push)[BOB].get("ask") == "subscribe"
            await a.ping_server()

            b = await login(stack, f"{BOB}/phone", "bob-pw")
            req = await b.wait_presence(lambda p: p["type"] == "subscribe")
            assert req["from"].full == ALICE
            b.send_presence(pto=ALICE, ptype="subscribed")
            await a.wait_presence(lambda p: p["type"] == "subscribed" and p["from"].bare == BOB)
            push = await a.wait_push(lambda iq: roster_items(iq).get(BOB) is not None
                                     and roster_items(iq)[BOB].get("subscription") == "to")
            # Bob's approval sends his current presence to Alice (§3.1.5).
            await a.wait_presence(lambda p: p["from"].full == f"{BOB}/phone" and p["type"] == "available")

            # Bob's broadcasts reach Alice (a subscriber); Carol, a stranger, sees nothing.
            c = await login(stack, f"{CAROL}/x", "carol-pw")
            b.send_presence(pstatus="busy", pshow="dnd")
            await a.wait_presence(lambda p: p["from"].full == f"{BOB}/phone" and p["status"] == "busy")
            await barrier(b, c)
            assert not [p for p in c.presences.items if p["from"].bare == BOB]

            # Alice logs in again: her probe is answered with Bob's live presence.
            a2 = await login(stack, f"{ALICE}/desk", "alice-pw")
            await a2.wait_presence(lambda p: p["from"].full == f"{BOB}/phone" and p["status"] == "busy")

            # Bob goes away: Alice's sessions see him unavailable.
            await b.close()
            await a.wait_presence(lambda p: p["from"].full == f"{BOB}/phone" and p["type"] == "unavailable")
            await a2.wait_presence(lambda p: p["from"].full == f"{BOB}/phone" and p["type"] == "unavailable")
            await a2.close()
            await c.close()
        finally:
            await a.close()

    run_async(scenario(), timeout=120)


def test_c2s_going_away_ends_its_sessions(stack, workdir, processes):
    """When a c2s leaves the router, the sm ends its sessions: contacts see the users go offline."""
    from helpers.smstack import second_c2s
    from helpers.xmpp import register_account

    other = second_c2s(stack, workdir, processes)

    async def scenario():
        await register(stack, "alice")
        await register_account(other.c2s_host, other.c2s_port, BOB, "bob-pw")
        a = await login(stack, f"{ALICE}/laptop", "alice-pw")
        from helpers.smstack import SmClient

        b = SmClient(f"{BOB}/phone", "bob-pw")
        b.roster.auto_authorize = None
        await b.login(other.c2s_host, other.c2s_port)
        try:
            # Mutual subscription: Alice sees Bob's presence.
            a.send_presence(pto=BOB, ptype="subscribe")
            await b.wait_presence(lambda p: p["type"] == "subscribe")
            b.send_presence(pto=ALICE, ptype="subscribed")
            await a.wait_presence(lambda p: p["from"].full == f"{BOB}/phone" and p["type"] == "available")
            # Bob's c2s dies (SIGKILL: no `end` for its sessions, only the router's
            # unavailable advertisement).
            other.c2s.popen.kill()
            await a.wait_presence(
                lambda p: p["from"].full == f"{BOB}/phone" and p["type"] == "unavailable",
                what="Bob's unavailable after his c2s went away",
            )
        finally:
            b.abort()
            await a.close()

    run_async(scenario(), timeout=90)
    stack.sm.process.wait_for_log(r"c2s gone; ending its sessions", timeout=5)
