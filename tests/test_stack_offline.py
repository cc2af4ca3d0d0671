"""XEP-0160 offline messages on the all-Starling stack: what is stored for a user with no
available non-negative resource, with a XEP-0203 delay stamp, delivered in order on the first
available presence with priority >= 0 and only once; the per-user quota; and the message types
that are never stored (RFC 6121 §8.5.2, §8.5.3).

"Nothing arrived" is checked after a ping barrier or a marker message, never after a sleep.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from helpers.roster import barrier
from helpers.smstack import error_condition
from helpers.stack import DOMAIN, login, register, start_stack
from helpers.xmpp import run_async

ALICE, BOB = f"alice@{DOMAIN}", f"bob@{DOMAIN}"
NS_DELAY = "urn:xmpp:delay"
# XEP-0082 DateTime in UTC, as XEP-0203 requires.
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@pytest.fixture
def stack(workdir, processes):
    return start_stack(workdir, processes)


def bodies(client) -> list[str]:
    return [m["body"] for m in client.messages.items if m["body"]]


def send(client, to: str, body: str, mtype: str = "chat", msg_id: str | None = None):
    msg = client.make_message(mto=to, mbody=body, mtype=mtype)
    if msg_id:
        msg["id"] = msg_id
    msg.send()


def test_stored_with_delay_and_delivered_in_order_on_first_non_negative_presence(stack):
    async def scenario():
        await register(stack, "alice", "bob")
        a = await login(stack, "alice", resource="laptop")
        try:
            before = datetime.now(timezone.utc) - timedelta(seconds=2)
            send(a, BOB, "one", msg_id="m1")
            send(a, BOB, "two", mtype="normal", msg_id="m2")
            # To a resource that is not connected: the bare-JID rules apply (§8.5.3.2.1).
            send(a, f"{BOB}/gone", "three", msg_id="m3")
            await barrier(a)
            after = datetime.now(timezone.utc) + timedelta(seconds=2)
            assert not [m for m in a.messages.items if m["type"] == "error"]

            # Logged in without presence: nothing yet.
            b = await login(stack, "bob", resource="phone", presence=False)
            await barrier(b)
            assert bodies(b) == []
            # Available with a negative priority: still nothing (XEP-0160 §4).
            b.send_presence(ppriority=-1)
            await barrier(b)
            assert bodies(b) == []
            # The first presence with priority >= 0 brings them, oldest first.
            b.send_presence(ppriority=0)
            got = [await b.wait_message(lambda m, body=body: m["body"] == body) for body in ("one", "two", "three")]
            assert [m["id"] for m in b.messages.history if m["body"]] == ["m1", "m2", "m3"]
            for m in got:
                assert m["from"].full == f"{ALICE}/laptop"
                delay = m.xml.find(f"{{{NS_DELAY}}}delay")
                assert delay is not None and delay.get("from") == DOMAIN, m
                stamp = delay.get("stamp", "")
                assert STAMP.match(stamp), stamp
                when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                assert before <= when <= after, (stamp, before, after)
            assert [m["type"] for m in got] == ["chat", "normal", "chat"]
            # Only once: a later priority change does not repeat them…
            b.send_presence(ppriority=5)
            await barrier(b)
            assert len([m for m in b.messages.history if m["body"]]) == 3
            await b.close()
            # …and neither does the next login.
            b = await login(stack, "bob", resource="phone")
            await barrier(b)
            assert bodies(b) == []
            await b.close()
        finally:
            await a.close()

    run_async(scenario(), timeout=90)


def test_messages_while_only_negative_resources_are_online_wait_for_a_non_negative_one(stack):
    async def scenario():
        await register(stack, "alice", "bob")
        a = await login(stack, "alice")
        shy = await login(stack, "bob", resource="shy", priority=-1)
        try:
            send(a, BOB, "stored for later")
            await barrier(a, shy)
            assert bodies(shy) == []
            # A full JID still reaches the negative resource directly.
            send(a, f"{BOB}/shy", "direct")
            await shy.wait_message(lambda m: m["body"] == "direct")
            # Another resource coming up with priority 0 takes what was stored.
            main = await login(stack, "bob", resource="main", priority=0)
            m = await main.wait_message(lambda m: m["body"] == "stored for later")
            assert m.xml.find(f"{{{NS_DELAY}}}delay") is not None
            await barrier(shy)
            assert bodies(shy) == []
            await main.close()
        finally:
            await a.close()
            await shy.close()

    run_async(scenario(), timeout=90)


def test_quota_bounces_the_rest_with_service_unavailable(workdir, processes):
    stack = start_stack(workdir, processes, sm_limits={"offline_quota": 2})

    async def scenario():
        await register(stack, "alice", "bob")
        a = await login(stack, "alice")
        try:
            for n in (1, 2, 3):
                send(a, BOB, f"msg {n}", msg_id=f"q{n}")
            err = await a.wait_message(lambda m: m["type"] == "error")
            assert err["id"] == "q3" and err["from"].bare == BOB, err
            assert error_condition(err) == "service-unavailable", err
            await barrier(a)
            assert not [m for m in a.messages.items if m["type"] == "error"]

            b = await login(stack, "bob")
            await b.wait_message(lambda m: m["body"] == "msg 2")
            await barrier(b)
            assert [m["body"] for m in b.messages.history if m["body"]] == ["msg 1", "msg 2"]
            # The queue is empty again: new messages are stored once more.
            await b.close()
            send(a, BOB, "after", msg_id="q4")
            await barrier(a)
            assert not [m for m in a.messages.items if m["type"] == "error"]
            b = await login(stack, "bob")
            await b.wait_message(lambda m: m["body"] == "after")
            await b.close()
        finally:
            await a.close()

    run_async(scenario(), timeout=90)


def test_headline_groupchat_and_error_messages_are_not_stored(stack):
    async def scenario():
        await register(stack, "alice", "bob")
        a = await login(stack, "alice")
        try:
            send(a, BOB, "news", mtype="headline", msg_id="h")
            send(a, BOB, "room", mtype="groupchat", msg_id="g")
            send(a, f"{BOB}/gone", "room 2", mtype="groupchat", msg_id="g2")
            send(a, BOB, "oops", mtype="error", msg_id="e")
            send(a, BOB, "marker", msg_id="marker")
            # Groupchat for a user with no such resource is an error (§8.5.2.1.1, §8.5.3.2.1);
            # headline and error vanish silently.
            for gid in ("g", "g2"):
                err = await a.wait_message(lambda m, gid=gid: m["type"] == "error" and m["id"] == gid)
                assert error_condition(err) == "service-unavailable", err
            await barrier(a)
            assert not [m for m in a.messages.items if m["type"] == "error"]

            b = await login(stack, "bob")
            await b.wait_message(lambda m: m["body"] == "marker")
            await barrier(b)
            assert [m["body"] for m in b.messages.history if m["body"]] == ["marker"]
            await b.close()
        finally:
            await a.close()

    run_async(scenario(), timeout=90)
