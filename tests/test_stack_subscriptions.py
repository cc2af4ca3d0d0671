"""RFC 6121 §3 presence subscriptions on the all-Starling stack: every state of appendix A (None,
To, From, Both, with Pending Out shown as ask='subscribe' and Pending In kept out of the roster
but redelivered at each login), subscribe/subscribed/unsubscribe/unsubscribed from both sides with
the roster pushes and presence each transition causes, in the order the RFC gives.

Contacts at another domain are a XEP-0114 component on the router (helpers.roster.REMOTE): it sees
exactly what the sm sends out, which is how the auto-replies and the stanzas that must not be
routed are checked. "Nothing else arrived" is checked after a barrier or a marker stanza sent
after the thing that must not arrive, never after a sleep.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from helpers.c2s_stack import raw_login
from helpers.roster import (
    REMOTE,
    REMOTE_SECRET,
    barrier,
    forget,
    online,
    position,
    push_of,
    record_arrivals,
    remote_contacts,
    state,
    subscribe,
)
from helpers.smstack import NS_ROSTER, roster_items
from helpers.stack import DOMAIN, login, register, start_stack
from helpers.xmpp import run_async

ALICE, BOB, CAROL = f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}"
ROMEO = f"romeo@{REMOTE}"
NS_NICK = "http://jabber.org/protocol/nick"


@pytest.fixture
def stack(workdir, processes):
    return start_stack(workdir, processes, components={REMOTE: REMOTE_SECRET})


def sub_presence(typ: str, frm: str):
    return lambda p: p["type"] == typ and p["from"].full == frm


def available_from(jid: str, status: str | None = None):
    return lambda p: (p["type"] == "available" and p["from"].full == jid
                      and (status is None or p["status"] == status))


def unavailable_from(jid: str):
    return lambda p: p["type"] == "unavailable" and p["from"].full == jid


def subscription_presences(client) -> list:
    kinds = ("subscribe", "subscribed", "unsubscribe", "unsubscribed")
    return [str(p) for p in client.presences.items if p["type"] in kinds]


async def closing(*clients) -> None:
    for c in clients:
        await c.close()


def test_request_and_approval(stack):
    """None → None+PendingOut → To for the user; None → None+PendingIn (hidden) → From for the
    contact (§3.1), and the presence that follows (§3.1.5)."""

    async def scenario():
        await register(stack, "alice", "bob")
        a = await online(stack, "alice", "laptop")
        b = await online(stack, "bob", "phone")
        arrivals = record_arrivals(a)
        try:
            # §3.1.2: the request leaves with Alice's bare JID, and her roster shows it pending.
            a.send_presence(pto=f"{BOB}/phone", ptype="subscribe", pstatus="hello")
            push = await a.wait_push(push_of(BOB, "none", "subscribe"))
            assert query_count(push) == 1
            req = await b.wait_presence(sub_presence("subscribe", ALICE))
            assert req["to"].full == BOB and req["status"] == "hello"
            # §3.1.3: the contact's roster gets no item until he approves.
            await barrier(a, b)
            assert not b.pushes.items
            assert roster_items(await b.roster_get()) == {}

            # §3.1.5: Bob approves: his roster shows 'from'; Alice gets the approval before her
            # push to 'to', then Bob's current presence.
            b.send_presence(pto=ALICE, ptype="subscribed")
            await b.wait_push(push_of(ALICE, "from"))
            await a.wait_presence(sub_presence("subscribed", BOB))
            await a.wait_push(push_of(BOB, "to"))
            assert position(arrivals, sub_presence("subscribed", BOB)) < position(arrivals, push_of(BOB, "to"))
            await a.wait_presence(available_from(f"{BOB}/phone"))
            assert state(await a.roster_get(), BOB) == ("to", None)
            assert state(await b.roster_get(), ALICE) == ("from", None)

            # Bob's broadcasts reach Alice; Alice's do not reach Bob (he is not subscribed).
            b.send_presence(pstatus="busy")
            await a.wait_presence(available_from(f"{BOB}/phone", "busy"))
            a.send_presence(pstatus="secret")
            await barrier(a, b)
            assert not [p for p in b.presences.items if p["from"].bare == ALICE]
        finally:
            await closing(a, b)

    run_async(scenario(), timeout=90)


def query_count(push) -> int:
    return len(push.xml[0])


def test_crossed_requests_walk_every_pending_state_to_both(stack):
    """None+PendingOut+In, From+PendingOut, To+PendingIn and Both (appendix A), and a pending-in
    request for a contact already in the roster (shown as plain 'none')."""

    async def scenario():
        await register(stack, "alice", "bob", "carol")
        a = await online(stack, "alice")
        b = await online(stack, "bob")
        c = await online(stack, "carol")
        try:
            # Alice → Bob pending; then Bob asks Alice too: both are None+PendingOut+In.
            a.send_presence(pto=BOB, ptype="subscribe")
            await a.wait_push(push_of(BOB, "none", "subscribe"))
            await b.wait_presence(sub_presence("subscribe", ALICE))
            b.send_presence(pto=ALICE, ptype="subscribe")
            await b.wait_push(push_of(ALICE, "none", "subscribe"))
            await a.wait_presence(sub_presence("subscribe", BOB))
            # Alice's item does not change visibly (pending-in is not shown): no push.
            await barrier(a, b)
            assert not a.pushes.items, [str(p) for p in a.pushes.items]

            # Alice approves: From+PendingOut for her, To+PendingIn for Bob.
            a.send_presence(pto=BOB, ptype="subscribed")
            await a.wait_push(push_of(BOB, "from", "subscribe"))
            await b.wait_presence(sub_presence("subscribed", ALICE))
            await b.wait_push(push_of(ALICE, "to"))
            assert state(await a.roster_get(), BOB) == ("from", "subscribe")
            assert state(await b.roster_get(), ALICE) == ("to", None)
            # Bob approves: Both on both sides.
            b.send_presence(pto=ALICE, ptype="subscribed")
            await b.wait_push(push_of(ALICE, "both"))
            await a.wait_presence(sub_presence("subscribed", BOB))
            await a.wait_push(push_of(BOB, "both"))
            await a.wait_presence(available_from(b.boundjid.full))
            await b.wait_presence(available_from(a.boundjid.full))

            # A request from someone already in the roster: None+PendingIn, shown as 'none'.
            assert (await a.roster_set(CAROL, name="Carol"))["type"] == "result"
            await a.wait_push(push_of(CAROL, "none"))
            c.send_presence(pto=ALICE, ptype="subscribe")
            await a.wait_presence(sub_presence("subscribe", CAROL))
            await barrier(c, a)
            assert not a.pushes.items and state(await a.roster_get(), CAROL) == ("none", None)
            a.send_presence(pto=CAROL, ptype="subscribed")
            push = await a.wait_push(push_of(CAROL, "from"))
            assert push.xml[0][0].get("name") == "Carol"
        finally:
            await closing(a, b, c)

    run_async(scenario(), timeout=90)


def test_unsubscribe_from_mutual_subscription(stack):
    """§3.3: Both → From for the user, Both → To for the contact, who sees the unsubscribe before
    his push; the user sees the contact go unavailable."""

    async def scenario():
        await register(stack, "alice", "bob")
        a = await online(stack, "alice")
        b = await online(stack, "bob")
        arrivals = record_arrivals(b)
        try:
            await subscribe(a, b)
            await subscribe(b, a)
            assert state(await a.roster_get(), BOB) == ("both", None)

            a.send_presence(pto=BOB, ptype="unsubscribe")
            await a.wait_push(push_of(BOB, "from"))
            await b.wait_presence(sub_presence("unsubscribe", ALICE))
            await b.wait_push(push_of(ALICE, "to"))
            assert position(arrivals, sub_presence("unsubscribe", ALICE)) < position(arrivals, push_of(ALICE, "to"))
            await a.wait_presence(unavailable_from(b.boundjid.full))
            # Nothing else reaches Alice. (Bob's server does not send the auto-reply unsubscribed
            # A.2.2 suggests: it changes nothing here, and would cancel a new request Alice might
            # have sent in the meantime.)
            await barrier(b, a)
            assert not subscription_presences(a) and not a.pushes.items, subscription_presences(a)

            # Bob's presence no longer reaches Alice; hers still reaches him.
            b.send_presence(pstatus="gone for alice")
            a.send_presence(pstatus="still for bob")
            await b.wait_presence(available_from(a.boundjid.full, "still for bob"))
            await barrier(b, a)
            assert not [p for p in a.presences.items if p["status"] == "gone for alice"]
        finally:
            await closing(a, b)

    run_async(scenario(), timeout=90)


def test_cancel_a_granted_subscription(stack):
    """§3.2: the contact cancels with unsubscribed: From → None for him; the user gets the
    contact's unavailable presence, then the unsubscribed, then the push to 'none'."""

    async def scenario():
        await register(stack, "alice", "bob")
        a = await online(stack, "alice")
        b = await online(stack, "bob")
        arrivals = record_arrivals(a)
        try:
            await subscribe(a, b)
            b.send_presence(pto=ALICE, ptype="unsubscribed")
            await b.wait_push(push_of(ALICE, "none"))
            await a.wait_presence(unavailable_from(b.boundjid.full))
            await a.wait_presence(sub_presence("unsubscribed", BOB))
            await a.wait_push(push_of(BOB, "none"))
            order = [position(arrivals, unavailable_from(b.boundjid.full)),
                     position(arrivals, sub_presence("unsubscribed", BOB)), position(arrivals, push_of(BOB, "none"))]
            assert order == sorted(order), order
            assert state(await a.roster_get(), BOB) == ("none", None)
            assert state(await b.roster_get(), ALICE) == ("none", None)
            b.send_presence(pstatus="private")
            await barrier(b, a)
            assert not [p for p in a.presences.items if p["from"].bare == BOB]
        finally:
            await closing(a, b)

    run_async(scenario(), timeout=90)


def test_denied_and_withdrawn_requests_are_forgotten(stack):
    """unsubscribed cancels a pending request (None+PendingOut → None, the contact's hidden
    pending-in record goes); unsubscribe withdraws one. Neither is redelivered at login."""

    async def scenario():
        await register(stack, "alice", "bob", "carol")
        a = await online(stack, "alice")
        b = await online(stack, "bob")
        try:
            # Denial.
            a.send_presence(pto=BOB, ptype="subscribe")
            await b.wait_presence(sub_presence("subscribe", ALICE))
            b.send_presence(pto=ALICE, ptype="unsubscribed")
            await a.wait_presence(sub_presence("unsubscribed", BOB))
            await a.wait_push(push_of(BOB, "none"))
            await barrier(b)
            assert not b.pushes.items and roster_items(await b.roster_get()) == {}

            # Withdrawal: Carol asks Bob, then takes it back; Bob is told (A.2.2).
            c = await online(stack, "carol")
            c.send_presence(pto=BOB, ptype="subscribe")
            await b.wait_presence(sub_presence("subscribe", CAROL))
            c.send_presence(pto=BOB, ptype="unsubscribe")
            await c.wait_push(push_of(BOB, "none"))
            await b.wait_presence(sub_presence("unsubscribe", CAROL))
            # Carol gets nothing back.
            await barrier(b, c)
            assert not subscription_presences(c), subscription_presences(c)
            await c.close()

            # A new session of Bob's gets neither request again.
            b2 = await online(stack, "bob", "second")
            await barrier(a, b2)
            assert not subscription_presences(b2), subscription_presences(b2)
            assert roster_items(await b2.roster_get()) == {}
            await b2.close()
        finally:
            await closing(a, b)

    run_async(scenario(), timeout=90)


def test_denied_user_keeps_the_contact_and_the_contacts_request(stack):
    """A contact the user subscribed to stays in the roster when it denies the request, with its
    own request still pending (None+PendingOut+In → None+PendingIn, A.2.4)."""

    async def scenario():
        await register(stack, "alice", "bob")
        a = await online(stack, "alice")
        b = await online(stack, "bob")
        try:
            a.send_presence(pto=BOB, ptype="subscribe")
            await b.wait_presence(sub_presence("subscribe", ALICE))
            b.send_presence(pto=ALICE, ptype="subscribe")
            await a.wait_presence(sub_presence("subscribe", BOB))
            await b.wait_push(push_of(ALICE, "none", "subscribe"))
            b.send_presence(pto=ALICE, ptype="unsubscribed")
            await a.wait_presence(sub_presence("unsubscribed", BOB))
            await a.wait_push(push_of(BOB, "none"))
            assert state(await a.roster_get(), BOB) == ("none", None)
            # Bob's request still waits for Alice: a new session of hers gets it.
            a2 = await online(stack, "alice", "second")
            await a2.wait_presence(sub_presence("subscribe", BOB))
            await a2.close()
            a.send_presence(pto=BOB, ptype="subscribed")
            await a.wait_push(push_of(BOB, "from"))
            await b.wait_push(push_of(ALICE, "to"))
        finally:
            await closing(a, b)

    run_async(scenario(), timeout=90)


def test_request_to_offline_contact_is_kept_whole_and_redelivered_until_answered(stack):
    """§3.1.3: a request for a contact with no available resource is stored as the complete
    stanza, only one per requester, delivered at each available session until answered."""

    async def scenario():
        await register(stack, "alice", "bob")
        a = await online(stack, "alice")
        try:
            request = a.make_presence(pto=BOB, ptype="subscribe", pstatus="It's Alice")
            request["id"] = "req-1"
            nick = ET.SubElement(request.xml, f"{{{NS_NICK}}}nick")
            nick.text = "Al"
            request.send()
            await a.wait_push(push_of(BOB, "none", "subscribe"))
            # A second request while Bob is away: he gets only one of them.
            a.send_presence(pto=BOB, ptype="subscribe", pstatus="again")
            await barrier(a)

            # Connected but not available: requests go to available resources only.
            b1 = await online(stack, "bob", "one", presence=False)
            await barrier(b1)
            assert not subscription_presences(b1)
            assert roster_items(await b1.roster_get()) == {}
            b1.send_presence()
            req = await b1.wait_presence(sub_presence("subscribe", ALICE))
            assert (req["id"], req["status"], req["to"].full) == ("req-1", "It's Alice", BOB)
            got_nick = req.xml.find(f"{{{NS_NICK}}}nick")
            assert got_nick is not None and got_nick.text == "Al", req
            await barrier(b1)
            assert not subscription_presences(b1), subscription_presences(b1)

            # Bob adds Alice to his roster without answering: None+PendingIn, shown as 'none'.
            assert (await b1.roster_set(ALICE, name="Alice"))["type"] == "result"
            await b1.wait_push(push_of(ALICE, "none"))

            # Unanswered: a second available resource gets it again (and the first does not).
            b2 = await online(stack, "bob", "two")
            req2 = await b2.wait_presence(sub_presence("subscribe", ALICE))
            assert req2["id"] == "req-1"
            await barrier(b1, b2)
            assert not subscription_presences(b1) and not subscription_presences(b2)

            # Answered: no more redelivery.
            b2.send_presence(pto=ALICE, ptype="subscribed")
            await a.wait_push(push_of(BOB, "to"))
            push = await b2.wait_push(push_of(ALICE, "from"))
            assert push.xml[0][0].get("name") == "Alice"
            b3 = await online(stack, "bob", "three")
            await barrier(b3)
            assert not subscription_presences(b3), subscription_presences(b3)
            await closing(b1, b2, b3)
        finally:
            await a.close()

    run_async(scenario(), timeout=90)


def test_approval_while_requester_offline_shows_at_login(stack):
    """§3.1.6: an approval for a user with no session is applied to the roster at once; at the
    next login the roster shows 'to' and the contact's presence arrives (the probe is answered)."""

    async def scenario():
        await register(stack, "alice", "bob")
        a = await online(stack, "alice")
        b = await online(stack, "bob")
        try:
            a.send_presence(pto=BOB, ptype="subscribe")
            await b.wait_presence(sub_presence("subscribe", ALICE))
            await a.close()
            b.send_presence(pto=ALICE, ptype="subscribed", pstatus="welcome")
            await b.wait_push(push_of(ALICE, "from"))

            a = await login(stack, "alice", resource="back")
            await a.wait_presence(available_from(b.boundjid.full))
            res = await a.roster_get()
            assert state(res, BOB) == ("to", None), res
        finally:
            await closing(a, b)

    run_async(scenario(), timeout=90)


def test_subscription_to_a_user_that_does_not_exist(stack):
    """§8.5.1 / A.2.4: the server answers unsubscribed for the missing user, which cancels the
    pending request."""

    async def scenario():
        await register(stack, "alice")
        a = await online(stack, "alice")
        try:
            a.send_presence(pto=f"nobody@{DOMAIN}", ptype="subscribe")
            await a.wait_push(push_of(f"nobody@{DOMAIN}", "none", "subscribe"))
            await a.wait_presence(sub_presence("unsubscribed", f"nobody@{DOMAIN}"))
            await a.wait_push(push_of(f"nobody@{DOMAIN}", "none"))
        finally:
            await a.close()

    run_async(scenario(), timeout=60)


def test_remote_contact_sees_bare_jids_auto_replies_and_nothing_unneeded(stack):
    """Towards another domain: stamped bare JIDs (§3.1.2), the auto-reply to a repeated request
    from an approved subscriber (§3.1.3, A.2.1), the contact's presence after approval (§3.1.5),
    unavailable before unsubscribed (§3.2.2), and no unsubscribed where nothing changes (A.3.4),
    nor delivery of approvals nobody asked for (A.2.3)."""

    async def scenario():
        await register(stack, "bob")
        romeo = await remote_contacts(stack)
        b = await online(stack, "bob", "phone")
        arrivals = record_arrivals(romeo)
        try:
            # A request from a full JID reaches Bob from the bare JID.
            romeo.send_presence(pfrom=f"{ROMEO}/balcony", pto=BOB, ptype="subscribe")
            await b.wait_presence(sub_presence("subscribe", ROMEO))
            b.send_presence(pto=f"{ROMEO}/balcony", ptype="subscribed")
            await b.wait_push(push_of(ROMEO, "from"))
            ok = await romeo.presences.wait(sub_presence("subscribed", BOB), 10, "Bob's approval")
            assert ok["to"].full == ROMEO
            await romeo.presences.wait(available_from(f"{BOB}/phone"), 10, "Bob's presence")

            # Already approved: Bob's server answers for him and he sees nothing.
            romeo.send_presence(pfrom=ROMEO, pto=BOB, ptype="subscribe")
            await romeo.presences.wait(sub_presence("subscribed", BOB), 10, "the auto-reply")
            romeo.send_msg(ROMEO, BOB, "marker 1")
            await b.wait_message(lambda m: m["body"] == "marker 1")
            assert not subscription_presences(b) and not b.pushes.items

            # An approval nobody asked for and a cancellation of nothing are ignored.
            romeo.send_presence(pfrom=f"juliet@{REMOTE}", pto=BOB, ptype="subscribed")
            romeo.send_presence(pfrom=f"juliet@{REMOTE}", pto=BOB, ptype="unsubscribed")
            romeo.send_msg(ROMEO, BOB, "marker 2")
            await b.wait_message(lambda m: m["body"] == "marker 2")
            await barrier(b)
            assert not subscription_presences(b) and not b.pushes.items
            assert list(roster_items(await b.roster_get())) == [ROMEO]

            # Bob cancels Romeo's subscription: unavailable first, then unsubscribed.
            b.send_presence(pto=ROMEO, ptype="unsubscribed")
            await b.wait_push(push_of(ROMEO, "none"))
            await romeo.presences.wait(unavailable_from(f"{BOB}/phone"), 10, "Bob's unavailable")
            await romeo.presences.wait(sub_presence("unsubscribed", BOB), 10, "the cancellation")
            assert position(arrivals, unavailable_from(f"{BOB}/phone")) < position(arrivals, sub_presence("unsubscribed", BOB))
            # Again, in state None: not routed (A.3.4), nor is an unsubscribed to a stranger.
            b.send_presence(pto=ROMEO, ptype="unsubscribed")
            b.send_presence(pto=f"juliet@{REMOTE}", ptype="unsubscribed")
            b.send_message(mto=ROMEO, mbody="marker 3")
            await romeo.wait_message(lambda m: m["body"] == "marker 3")
            assert not [str(p) for p in romeo.presences.items if p["type"] == "unsubscribed"]
        finally:
            await b.close()
            await romeo.close()

    run_async(scenario(), timeout=90)


def test_raw_subscription_to_an_address_that_is_no_jid(stack):
    """A subscription stanza whose 'to' is no JID gets jid-malformed (§3.1.2) and changes nothing."""
    run_async(register(stack, "alice"), timeout=30)
    host, port = stack.c2s
    with raw_login(host, port, "alice", "alice-pw", "raw") as s:
        s.send("<presence type='subscribe' to='a@@b' id='bad'/>")
        el = s.next_element()
        assert (el.tag, el.get("type"), el.get("id")) == ("{jabber:client}presence", "error", "bad"), ET.tostring(el)
        assert el.find("{jabber:client}error/{urn:ietf:params:xml:ns:xmpp-stanzas}jid-malformed") is not None
        s.send(f"<iq type='get' id='r'><query xmlns='{NS_ROSTER}'/></iq>")
        el = s.next_element()
        assert el.get("id") == "r" and len(el.find(f"{{{NS_ROSTER}}}query")) == 0, ET.tostring(el)
