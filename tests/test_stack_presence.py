"""RFC 6121 §4 presence on the all-Starling stack: initial presence broadcast and echo, probes
at login, directed presence and its unavailable, goodbyes when a session ends (cleanly or by a
dropped TCP connection), and nothing for anybody without a subscription. Leaks are checked
behind barriers (helpers.stack_checks)."""

from helpers.stack import login, register, start_stack
from helpers.stack_checks import barrier, fence, forget, from_bare, jid, leftovers, make_contacts
from helpers.xmpp import run_async


def ptype(p) -> str:
    """The raw presence type ('available' when absent; slixmpp's p['type'] mixes in <show/>)."""
    return p.xml.get("type", "available")


def presence_from(full: str, typ: str = "available"):
    return lambda p: p["from"] == full and ptype(p) == typ


def scenario(workdir, processes, body, contacts=(("alice", "bob"),)):
    stack = start_stack(workdir, processes)

    async def run():
        await register(stack, "alice", "bob", "carol")
        for a, b in contacts:
            await make_contacts(stack, a, b)
        await body(stack)

    run_async(run(), timeout=120)


async def close_all(*clients):
    for c in clients:
        await c.close()


def test_initial_presence_goes_to_subscribers_and_own_resources(workdir, processes):
    """§4.2.2: initial presence is broadcast from the full JID to every subscriber and to all of
    the user's available resources, the sender included; the new resource learns of the others
    and of its contacts (probe, §4.3); a non-contact hears nothing."""

    async def body(stack):
        bob = await login(stack, "bob", resource="home")
        await bob.wait_presence(presence_from(jid("alice"), "unavailable"), what="alice offline (probe answer)")
        carol = await login(stack, "carol", resource="home")
        other = await login(stack, "alice", resource="other")
        # The contact's presence reached the already available resource (§4.3.2) and the
        # other way round.
        await other.wait_presence(presence_from(jid("bob", "home")), what="bob's presence")
        await bob.wait_presence(presence_from(jid("alice", "other")), what="alice/other's presence")
        pc = await login(stack, "alice", resource="pc", presence=False)
        try:
            pc.send_presence(pstatus="hello", ppriority=2, pshow="chat")
            seen = await bob.wait_presence(presence_from(jid("alice", "pc")), what="alice/pc at bob")
            assert seen["status"] == "hello" and seen["priority"] == 2 and seen["show"] == "chat"
            assert seen["to"].bare == jid("bob")
            echo = await pc.wait_presence(presence_from(jid("alice", "pc")), what="the echo")
            assert echo["status"] == "hello"
            await other.wait_presence(presence_from(jid("alice", "pc")), what="alice/pc at alice/other")
            # What the new resource learns: its other resource and its contact.
            await pc.wait_presence(presence_from(jid("alice", "other")), what="alice/other at alice/pc")
            await pc.wait_presence(presence_from(jid("bob", "home")), what="bob's presence (probe answer)")
            # A subsequent presence is broadcast the same way (§4.4), and nothing more.
            pc.send_presence(pstatus="away now", pshow="away")
            seen = await bob.wait_presence(presence_from(jid("alice", "pc")), what="the update at bob")
            assert seen["status"] == "away now"
            await pc.wait_presence(presence_from(jid("alice", "pc")), what="the update's echo")
            await barrier(pc, carol)
            assert leftovers(carol.presences, from_bare("alice")) == []
            await barrier(pc, bob)
            assert leftovers(bob.presences, lambda p: p["from"].bare == jid("alice")) == []
        finally:
            await close_all(pc, other, bob, carol)

    scenario(workdir, processes, body)


def test_presence_to_a_bare_jid_reaches_every_available_resource(workdir, processes):
    """RFC 6121 §8.5.2.1.2: presence for the bare JID goes to all available resources, negative
    priorities included, with `to` left as the bare JID; not to a resource that sent no
    presence."""

    async def body(stack):
        up = await login(stack, "bob", resource="up", priority=3)
        down = await login(stack, "bob", resource="down", priority=-7)
        shy = await login(stack, "bob", resource="shy", presence=False)
        alice = await login(stack, "alice", resource="pc")
        try:
            for c in (up, down):
                p = await c.wait_presence(presence_from(jid("alice", "pc")), what="alice's presence")
                assert p["to"] == jid("bob")
            alice.send_presence(ptype="unavailable")
            for c in (up, down):
                p = await c.wait_presence(presence_from(jid("alice", "pc"), "unavailable"), what="alice leaving")
                assert p["to"] == jid("bob")
            await barrier(alice, shy)
            assert leftovers(shy.presences, from_bare("alice")) == []
        finally:
            await close_all(alice, up, down, shy)

    scenario(workdir, processes, body)


def test_probes_at_login_are_answered_with_current_presence(workdir, processes):
    """§4.3: a login probes the contacts; the answer is each available resource's last
    presence, or unavailable from the bare JID when the contact is offline."""

    async def body(stack):
        alice = await login(stack, "alice", resource="early")
        # Bob offline: the probe gets an unavailable answer.
        await alice.wait_presence(presence_from(jid("bob"), "unavailable"), what="bob offline")
        phone = await login(stack, "bob", resource="phone", presence=False)
        desk = await login(stack, "bob", resource="desk", presence=False)
        try:
            phone.send_presence(pshow="dnd", pstatus="meeting", ppriority=1)
            desk.send_presence(pshow="xa", ppriority=0)
            for c in (phone, desk):
                await c.ping_server()
            late = await login(stack, "alice", resource="late")
            try:
                p = await late.wait_presence(presence_from(jid("bob", "phone")), what="bob/phone")
                assert p["show"] == "dnd" and p["status"] == "meeting"
                assert p["to"].bare == jid("alice")
                p = await late.wait_presence(presence_from(jid("bob", "desk")), what="bob/desk")
                assert p["show"] == "xa"
                # Nothing about a resource that is connected but never sent presence.
                shy = await login(stack, "bob", resource="shy", presence=False)
                await barrier(shy, late)
                assert leftovers(late.presences, lambda p: p["from"] == jid("bob", "shy")) == []
                await shy.close()
            finally:
                await late.close()
        finally:
            await close_all(alice, phone, desk)

    scenario(workdir, processes, body)


def test_directed_presence_to_a_non_contact_and_its_unavailable(workdir, processes):
    """§4.6: directed presence reaches a non-contact; when the sender goes unavailable, and
    when the session ends without that (closed stream, or a TCP connection that just drops),
    the recipient gets unavailable. Presence directed and then withdrawn is not repeated."""

    async def body(stack):
        carol = await login(stack, "carol", resource="home")
        alice = await login(stack, "alice", resource="pc")
        try:
            alice.send_presence(pto=jid("carol", "home"), pstatus="hi carol")
            p = await carol.wait_presence(presence_from(jid("alice", "pc")), what="directed presence")
            assert p["status"] == "hi carol" and p["to"] == jid("carol", "home")
            alice.send_presence(ptype="unavailable")
            await carol.wait_presence(presence_from(jid("alice", "pc"), "unavailable"), what="unavailable")
            # Withdrawn by a directed unavailable: the broadcast goodbye does not repeat it.
            alice.send_presence(ppriority=1)
            alice.send_presence(pto=jid("carol", "home"))
            await carol.wait_presence(presence_from(jid("alice", "pc")), what="directed presence again")
            alice.send_presence(pto=jid("carol", "home"), ptype="unavailable")
            await carol.wait_presence(presence_from(jid("alice", "pc"), "unavailable"), what="directed unavailable")
            alice.send_presence(ptype="unavailable")
            await barrier(alice, carol)
            assert leftovers(carol.presences, from_bare("alice")) == []
        finally:
            await alice.close()
        # The session ends cleanly.
        closing = await login(stack, "alice", resource="closing")
        closing.send_presence(pto=jid("carol"))
        await carol.wait_presence(presence_from(jid("alice", "closing")), what="presence to the bare JID")
        await closing.close()
        await carol.wait_presence(presence_from(jid("alice", "closing"), "unavailable"), what="goodbye on close")
        # The TCP connection drops without a closing stream.
        dropped = await login(stack, "alice", resource="dropped")
        dropped.send_presence(pto=jid("carol", "home"))
        await carol.wait_presence(presence_from(jid("alice", "dropped")), what="presence before the drop")
        dropped.abort()
        await carol.wait_presence(presence_from(jid("alice", "dropped"), "unavailable"), what="goodbye on drop")
        await carol.close()

    scenario(workdir, processes, body)


def test_session_end_says_unavailable_to_everyone_who_saw_it(workdir, processes):
    """§4.5.2: when a session ends the server broadcasts unavailable for it to the subscribers
    and to the user's other resources; the user's non-contacts hear nothing."""

    async def body(stack):
        bob = await login(stack, "bob", resource="home")
        carol = await login(stack, "carol", resource="home")
        other = await login(stack, "alice", resource="other")
        try:
            for resource, end in (("clean", "close"), ("abrupt", "abort")):
                alice = await login(stack, "alice", resource=resource)
                await bob.wait_presence(presence_from(jid("alice", resource)), what=f"alice/{resource} online")
                await other.wait_presence(presence_from(jid("alice", resource)), what=f"alice/{resource} at other")
                if end == "close":
                    await alice.close()
                else:
                    alice.abort()
                for c in (bob, other):
                    p = await c.wait_presence(
                        presence_from(jid("alice", resource), "unavailable"), what=f"alice/{resource} gone"
                    )
                    assert p["to"].bare == c.boundjid.bare
            # Bob's marker to carol follows whatever the sm sent for those sessions.
            await barrier(bob, carol)
            assert leftovers(carol.presences, lambda p: p["from"].bare == jid("alice")) == []
        finally:
            await close_all(other, bob, carol)

    scenario(workdir, processes, body)


def test_nothing_leaks_to_non_contacts(workdir, processes):
    """§4.3.2 and §4.2.2: a non-contact gets no broadcast and learns nothing by probing (the
    `unsubscribed` answer changes nothing in its roster, so its server drops it, §3.2.3)."""

    async def body(stack):
        carol = await login(stack, "carol", resource="home")
        alice = await login(stack, "alice", resource="pc")
        try:
            alice.send_presence(pstatus="secret")
            await alice.wait_presence(lambda p: p["status"] == "secret", what="the echo")
            carol.send_presence(pto=jid("alice"), ptype="probe")
            carol.send_presence(pto=jid("alice", "pc"), ptype="probe")
            await carol.ping_server()
            await barrier(alice, carol)
            assert leftovers(carol.presences, from_bare("alice")) == []
            # Carol's own directed presence to alice is delivered (it is hers to give).
            carol.send_presence(pto=jid("alice", "pc"), pstatus="from carol")
            p = await alice.wait_presence(presence_from(jid("carol", "home")), what="carol's directed presence")
            assert p["status"] == "from carol"
            # …and it does not make alice's broadcasts go to carol.
            alice.send_presence(pstatus="still secret")
            await alice.wait_presence(lambda p: p["status"] == "still secret", what="the echo")
            await barrier(alice, carol)
            assert leftovers(carol.presences, from_bare("alice")) == []
        finally:
            await close_all(alice, carol)

    scenario(workdir, processes, body, contacts=())


def test_presence_to_nonexistent_user_or_resource(workdir, processes):
    """§8.5.1 / §8.5.3.2.2: available, unavailable and error presence for a user that does not
    exist or a resource that is not there are silently dropped; a subscription request for a
    user that does not exist is answered with `unsubscribed` (§3.1.3), and a probe gets nothing
    back (the `unsubscribed` answer of §4.3.2 changes nothing, so it is dropped, §3.2.3)."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        bob = await login(stack, "bob", resource="home")
        try:
            await alice.wait_presence(presence_from(jid("bob", "home")), what="bob online")
            await barrier(bob, alice)
            forget(alice.presences, bob.presences)
            for to in (jid("nobody"), jid("nobody", "r")):
                alice.send_presence(pto=to)
                alice.send_presence(pto=to, ptype="unavailable")
                alice.send_presence(pto=to, ptype="error")
            await fence(alice)
            alice.send_presence(pto=jid("nobody"), ptype="probe")
            await fence(alice)
            assert leftovers(alice.presences) == []
            alice.send_presence(pto=jid("nobody"), ptype="subscribe")
            reply = await alice.wait_presence(lambda p: p["from"].bare == jid("nobody"), what="subscribe answer")
            assert ptype(reply) == "unsubscribed", reply
            for typ in ("available", "unavailable"):
                alice.send_presence(pto=jid("bob", "gone"), ptype=None if typ == "available" else typ)
            await barrier(alice, bob)
            assert leftovers(bob.presences, lambda p: p["from"].bare == jid("alice")) == []
            await fence(alice)
            assert leftovers(alice.presences) == []
        finally:
            await close_all(alice, bob)

    scenario(workdir, processes, body, contacts=(("alice", "bob"),))
