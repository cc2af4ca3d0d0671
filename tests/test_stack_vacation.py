"""Vacation auto-reply (jabberd2's mod_vacation, `http://jabber.org/protocol/vacation`, the XEP-0109
draft) on the all-Starling stack: the user's settings through raw IQs, and the auto-reply to
chat and normal messages within the period, once per sender, whether the message is delivered
or stored offline. What must *not* arrive is proven with barriers.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from helpers.stack import login, register, start_stack
from helpers.stack_checks import barrier, error_of, fence, jid, leftovers
from helpers.xmpp import run_async

VACATION = "http://jabber.org/protocol/vacation"
PAST, FUTURE = "2001-01-01T00:00:00Z", "2099-12-31T23:59:59Z"


def scenario(stack, names, body, timeout=90):
    async def run():
        await register(stack, *names)
        await body()

    run_async(run(), timeout=timeout)


def vacation_query(start: str | None = None, end: str | None = None, message: str | None = None) -> ET.Element:
    """`<query/>` with the elements given ("" for an empty one)."""
    query = ET.Element(f"{{{VACATION}}}query")
    for name, text in (("start", start), ("end", end), ("message", message)):
        if text is not None:
            ET.SubElement(query, f"{{{VACATION}}}{name}").text = text or None
    return query


async def set_vacation(client, start="", end="", message="away", to=None) -> None:
    answer = await client.iq(to, "set", vacation_query(start, end, message))
    assert answer["type"] == "result", answer


async def clear_vacation(client) -> None:
    answer = await client.iq(None, "set", vacation_query())
    assert answer["type"] == "result", answer


async def get_vacation(client, to=None) -> dict[str, str] | None:
    answer = await client.iq(to, "get", vacation_query())
    assert answer["type"] == "result", answer
    query = answer.xml.find(f"{{{VACATION}}}query")
    if query is None:
        return None
    return {el.tag.split("}")[1]: el.text or "" for el in query}


def is_reply(text: str, frm: str = "alice"):
    return lambda m: m["from"] == jid(frm) and m["body"] == text


def test_settings_set_get_clear(workdir, processes):
    """The user sets, reads back and clears their settings, in the session or at their bare JID;
    a set missing an element clears (as jabberd2); a bad date is bad-request; nobody else may
    read or change them."""
    stack = start_stack(workdir, processes)

    async def body():
        alice = await login(stack, "alice", resource="pc")
        bob = await login(stack, "bob", resource="pc")
        try:
            assert await get_vacation(alice) is None
            await set_vacation(alice, start="", end=FUTURE, message="Gone fishing")
            assert await get_vacation(alice) == {"start": "", "end": FUTURE, "message": "Gone fishing"}
            await set_vacation(alice, start="2030-06-01T12:00:00+02:00", end="", message="Later", to=jid("alice"))
            assert await get_vacation(alice, to=jid("alice")) == \
                {"start": "2030-06-01T10:00:00Z", "end": "", "message": "Later"}
            answer = await alice.iq(None, "set", vacation_query("next week", "", "x"))
            assert error_of(answer) == ("modify", "bad-request"), answer
            for itype in ("get", "set"):
                answer = await bob.iq(jid("alice"), itype, vacation_query("", "", "mine now"))
                assert error_of(answer) == ("auth", "forbidden"), answer
            assert (await get_vacation(alice))["message"] == "Later"
            answer = await alice.iq(None, "set", vacation_query(start="", message="no end"))
            assert answer["type"] == "result"
            assert await get_vacation(alice) is None
            await set_vacation(alice, message="again")
            await clear_vacation(alice)
            assert await get_vacation(alice) is None
        finally:
            await alice.close()
            await bob.close()

    scenario(stack, ["alice", "bob"], body)


def test_auto_reply_once_per_sender(workdir, processes):
    """Within the period, the first chat or normal message of each sender gets the text from the
    user's bare JID, whether the user is online or the message is stored offline; the second does
    not; the user's own messages and those of type error, groupchat or headline get none."""
    stack = start_stack(workdir, processes)

    async def body():
        alice = await login(stack, "alice", resource="pc")
        bob = await login(stack, "bob", resource="pc")
        carol = await login(stack, "carol", resource="pc")
        try:
            await set_vacation(alice, start=PAST, end=FUTURE, message="On the beach")
            bob.send_chat(jid("alice"), "hello 1")
            reply = await bob.wait_message(is_reply("On the beach"), what="the auto-reply")
            assert reply["type"] == "chat" and reply["to"] == jid("bob", "pc")
            await alice.wait_message(lambda m: m["body"] == "hello 1")
            bob.send_chat(jid("alice", "pc"), "hello 2")
            await alice.wait_message(lambda m: m["body"] == "hello 2")
            await barrier(alice, bob)
            assert leftovers(bob.messages, is_reply("On the beach")) == []
            # Not to the user's own other resource.
            alice2 = await login(stack, "alice", resource="phone")
            try:
                alice2.send_chat(jid("alice"), "note to self")
                await alice.wait_message(lambda m: m["body"] == "note to self")
                await barrier(alice, alice2)
                assert leftovers(alice2.messages, is_reply("On the beach")) == []
            finally:
                await alice2.close()
            # Not to error, groupchat or headline messages; a normal message is answered (and
            # its reply, arriving after theirs would have, is the barrier).
            for mtype in ("error", "groupchat", "headline"):
                carol.make_message(mto=jid("alice"), mbody=f"{mtype} message", mtype=mtype).send()
            carol.make_message(mto=jid("alice"), mbody="normal message", mtype="normal").send()
            reply = await carol.wait_message(is_reply("On the beach"), what="the auto-reply")
            assert reply["type"] == "normal"
            assert leftovers(carol.messages, is_reply("On the beach")) == []
            # Offline: the message is stored and answered; bob had his answer already.
            await alice.close()
            dave = await login(stack, "dave", resource="pc")
            try:
                dave.send_chat(jid("alice"), "are you there?")
                await dave.wait_message(is_reply("On the beach"), what="the offline auto-reply")
                bob.send_chat(jid("alice"), "hello 3")
                await fence(bob)
                assert leftovers(bob.messages, is_reply("On the beach")) == []
            finally:
                await dave.close()
            alice = await login(stack, "alice", resource="pc")
            for text in ("are you there?", "hello 3"):
                await alice.wait_message(lambda m, text=text: m["body"] == text, what=f"offline {text!r}")
        finally:
            await alice.close()
            await bob.close()
            await carol.close()

    scenario(stack, ["alice", "bob", "carol", "dave"], body)


def test_no_reply_outside_the_period_or_after_clearing(workdir, processes):
    """Before the start, after the end and once cleared, nothing is answered; new settings start
    a new period, in which the same sender is answered again."""
    stack = start_stack(workdir, processes)

    async def body():
        alice = await login(stack, "alice", resource="pc")
        bob = await login(stack, "bob", resource="pc")
        try:
            n = 0
            for start, end in ((FUTURE, ""), ("", PAST), (PAST, PAST)):
                await set_vacation(alice, start=start, end=end, message="Not yet or no more")
                n += 1
                bob.send_chat(jid("alice"), f"message {n}")
                await alice.wait_message(lambda m, n=n: m["body"] == f"message {n}")
                await barrier(alice, bob)
                assert leftovers(bob.messages, lambda m: m["from"] == jid("alice")
                                 and m["body"] == "Not yet or no more") == [], (start, end)
            await set_vacation(alice, start=PAST, end="", message="Away")
            bob.send_chat(jid("alice"), "first")
            await bob.wait_message(is_reply("Away"), what="the auto-reply")
            await clear_vacation(alice)
            await set_vacation(alice, start="", end=FUTURE, message="Away again")
            bob.send_chat(jid("alice"), "second")
            await bob.wait_message(is_reply("Away again"), what="the auto-reply of the new period")
            await clear_vacation(alice)
            bob.send_chat(jid("alice"), "third")
            await alice.wait_message(lambda m: m["body"] == "third")
            await barrier(alice, bob)
            assert leftovers(bob.messages, lambda m: m["from"] == jid("alice")
                             and m["body"] and m["body"].startswith("Away")) == []
        finally:
            await alice.close()
            await bob.close()

    scenario(stack, ["alice", "bob"], body)
