"""RFC 6121 §8.5 message delivery on the all-Starling stack (router + sm + c2s), with slixmpp
clients: full and bare JIDs, priorities, message types, offline storage, unknown users and
resources. What must *not* arrive is checked behind a barrier (helpers.stack_checks)."""

from helpers.stack import login, register, start_stack
from helpers.stack_checks import barrier, error_of, fence, is_error, jid, leftovers
from helpers.xmpp import run_async

DELAY = "{urn:xmpp:delay}delay"


def send(client, to: str, mid: str, mtype: str | None = "chat"):
    """A message whose body is its id; `mtype=None` sends it without a type."""
    msg = client.make_message(mto=to, mbody=mid, mtype=mtype)
    msg["id"] = mid
    if mtype is None:
        del msg["type"]
    msg.send()


def with_id(mid: str):
    return lambda m: m["id"] == mid


def ids(queue) -> list[str]:
    return [m["id"] for m in leftovers(queue)]


def scenario(workdir, processes, body):
    stack = start_stack(workdir, processes)

    async def run():
        await register(stack, "alice", "bob")
        await body(stack)

    run_async(run(), timeout=90)


def test_message_to_full_jid_reaches_that_resource_only(workdir, processes):
    """§8.5.3.1: a full JID that matches a resource gets the message, whatever the priorities."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        low = await login(stack, "bob", resource="low", priority=1)
        high = await login(stack, "bob", resource="high", priority=9)
        try:
            send(alice, jid("bob", "low"), "full-1")
            msg = await low.wait_message(with_id("full-1"))
            assert msg["from"] == jid("alice", "pc")
            assert msg["to"] == jid("bob", "low")
            assert msg["body"] == "full-1"
            await barrier(alice, high)
            assert ids(high.messages) == []
        finally:
            for c in (alice, low, high):
                await c.close()

    scenario(workdir, processes, body)


def test_message_to_bare_jid_goes_to_the_highest_priority(workdir, processes):
    """§8.5.2.1.1: chat and normal to the bare JID go to the most available resource; a lower
    and a negative priority get nothing."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        high = await login(stack, "bob", resource="high", priority=5)
        low = await login(stack, "bob", resource="low", priority=1)
        negative = await login(stack, "bob", resource="neg", priority=-1)
        try:
            send(alice, jid("bob"), "bare-chat", "chat")
            send(alice, jid("bob"), "bare-normal", "normal")
            send(alice, jid("bob"), "bare-untyped", None)
            for mid in ("bare-chat", "bare-normal", "bare-untyped"):
                msg = await high.wait_message(with_id(mid))
                assert msg["from"] == jid("alice", "pc")
                assert msg["to"] == jid("bob")
            for other in (low, negative):
                await barrier(alice, other)
                assert ids(other.messages) == []
            assert ids(high.messages) == []
        finally:
            for c in (alice, high, low, negative):
                await c.close()

    scenario(workdir, processes, body)


def test_equal_top_priorities_both_get_bare_jid_messages(workdir, processes):
    """§8.5.2.1.1 lets the server pick the most available resource or resources: Starling gives
    a message to every resource that shares the top priority, and to no lower one."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        one = await login(stack, "bob", resource="one", priority=3)
        two = await login(stack, "bob", resource="two", priority=3)
        low = await login(stack, "bob", resource="low", priority=0)
        try:
            send(alice, jid("bob"), "tie-1")
            for c in (one, two):
                msg = await c.wait_message(with_id("tie-1"))
                assert msg["from"] == jid("alice", "pc")
            await barrier(alice, low)
            assert ids(low.messages) == []
            # Raising one resource's priority makes it the only target.
            two.send_presence(ppriority=4)
            await two.ping_server()
            send(alice, jid("bob"), "tie-2")
            await two.wait_message(with_id("tie-2"))
            await barrier(alice, one)
            assert ids(one.messages) == []
        finally:
            for c in (alice, one, two, low):
                await c.close()

    scenario(workdir, processes, body)


def test_negative_priorities_only_means_offline(workdir, processes):
    """§8.5.2.1.1: with only negative-priority resources the message is handled as if there were
    none (stored, XEP-0160); a full JID still reaches its resource (§8.5.3.1), and so does a
    connected resource that sent no presence yet. The stored message comes with the next
    non-negative session."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        negative = await login(stack, "bob", resource="neg", priority=-5)
        quiet = await login(stack, "bob", resource="quiet", presence=False)
        try:
            send(alice, jid("bob"), "neg-bare")
            send(alice, jid("bob", "neg"), "neg-full", "normal")
            send(alice, jid("bob", "quiet"), "quiet-full")
            await negative.wait_message(with_id("neg-full"))
            await quiet.wait_message(with_id("quiet-full"))
            await barrier(alice, negative)
            await barrier(alice, quiet)
            assert ids(negative.messages) == [] and ids(quiet.messages) == []
            later = await login(stack, "bob", resource="later", priority=0)
            try:
                stored = await later.wait_message(with_id("neg-bare"))
                assert stored["from"] == jid("alice", "pc")
                assert stored.xml.find(DELAY) is not None
            finally:
                await later.close()
        finally:
            for c in (alice, negative, quiet):
                await c.close()

    scenario(workdir, processes, body)


def test_headline_to_bare_jid_goes_to_every_non_negative_resource(workdir, processes):
    """§8.5.2.1.1: a headline goes to all non-negative resources, not only the top one; with
    nobody to take it (§8.5.2.2.1) it is dropped, not stored."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        zero = await login(stack, "bob", resource="zero", priority=0)
        seven = await login(stack, "bob", resource="seven", priority=7)
        negative = await login(stack, "bob", resource="neg", priority=-1)
        try:
            send(alice, jid("bob"), "news-1", "headline")
            for c in (zero, seven):
                await c.wait_message(with_id("news-1"))
            await barrier(alice, negative)
            assert ids(negative.messages) == []
        finally:
            for c in (zero, seven, negative):
                await c.close()
        # Nobody online: not stored, not bounced.
        send(alice, jid("bob"), "news-2", "headline")
        send(alice, jid("bob"), "stored-after-news")
        await fence(alice)
        assert ids(alice.messages) == []
        bob = await login(stack, "bob", resource="back")
        try:
            await bob.wait_message(with_id("stored-after-news"))
            assert ids(bob.messages) == []
        finally:
            await bob.close()
            await alice.close()

    scenario(workdir, processes, body)


def test_groupchat_to_bare_jid_is_bounced(workdir, processes):
    """§8.5.2.1.1 and §8.5.2.2.1: groupchat to a bare JID is an error, online or not."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        bob = await login(stack, "bob", resource="home")
        try:
            send(alice, jid("bob"), "gc-1", "groupchat")
            err = await alice.wait_message(with_id("gc-1"))
            assert is_error(err, "service-unavailable"), err
            assert error_of(err)[0] == "cancel"
            assert err["from"] == jid("bob")
            assert err["to"] == jid("alice", "pc")
            await barrier(alice, bob)
            assert ids(bob.messages) == []
        finally:
            await bob.close()
        send(alice, jid("bob"), "gc-2", "groupchat")
        err = await alice.wait_message(with_id("gc-2"))
        assert is_error(err, "service-unavailable"), err
        await alice.close()

    scenario(workdir, processes, body)


def test_error_message_to_bare_jid_is_dropped(workdir, processes):
    """§8.5.2.1.1 and §8.5.2.2.1: a message of type error to a bare JID is silently ignored,
    online or not (never stored, never bounced); to a connected full JID it is delivered."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        bob = await login(stack, "bob", resource="home")
        try:
            send(alice, jid("bob"), "err-bare", "error")
            send(alice, jid("bob", "home"), "err-full", "error")
            await bob.wait_message(with_id("err-full"))
            await barrier(alice, bob)
            assert ids(bob.messages) == []
        finally:
            await bob.close()
        send(alice, jid("bob"), "err-offline", "error")
        await fence(alice)
        assert ids(alice.messages) == []
        bob = await login(stack, "bob", resource="back")
        try:
            await barrier(alice, bob)
            assert ids(bob.messages) == []
        finally:
            await bob.close()
            await alice.close()

    scenario(workdir, processes, body)


def test_offline_messages_are_stored_and_delivered_at_next_login(workdir, processes):
    """§8.5.2.2.1 / XEP-0160: chat and normal for an offline user are stored and come, in order
    and with a XEP-0203 delay, with the next available session; nothing comes back to the
    sender."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        try:
            send(alice, jid("bob"), "off-1", "chat")
            send(alice, jid("bob"), "off-2", "normal")
            send(alice, jid("bob"), "off-3", None)
            await fence(alice)
            assert ids(alice.messages) == []
            # A session without presence does not take them (they wait for availability).
            shy = await login(stack, "bob", resource="shy", presence=False)
            await barrier(alice, shy)
            assert ids(shy.messages) == []
            bob = await login(stack, "bob", resource="home")
            try:
                got = [await bob.wait_message(with_id(m)) for m in ("off-1", "off-2", "off-3")]
                history = [m["id"] for m in bob.messages.history]
                assert history[:3] == ["off-1", "off-2", "off-3"], history
                for m in got:
                    assert m["from"] == jid("alice", "pc")
                    delay = m.xml.find(DELAY)
                    assert delay is not None and delay.get("from") == "localhost" and delay.get("stamp")
                # Taken once: another session does not get them again.
                other = await login(stack, "bob", resource="other")
                await barrier(alice, other)
                assert ids(other.messages) == []
                await other.close()
            finally:
                await bob.close()
                await shy.close()
        finally:
            await alice.close()

    scenario(workdir, processes, body)


def test_message_to_nonexistent_user_is_bounced(workdir, processes):
    """§8.5.1: no such user: service-unavailable from the address the message went to, the id
    kept; an error message is never answered."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        try:
            for mid, mtype in (("ghost-chat", "chat"), ("ghost-normal", "normal"), ("ghost-gc", "groupchat")):
                send(alice, jid("nobody"), mid, mtype)
                err = await alice.wait_message(with_id(mid))
                assert is_error(err, "service-unavailable"), err
                assert err["from"] == jid("nobody")
                assert err["to"] == jid("alice", "pc")
            send(alice, jid("nobody", "res"), "ghost-full")
            err = await alice.wait_message(with_id("ghost-full"))
            assert is_error(err, "service-unavailable"), err
            assert err["from"] == jid("nobody", "res")
            send(alice, jid("nobody"), "ghost-error", "error")
            await fence(alice)
            assert ids(alice.messages) == []
        finally:
            await alice.close()

    scenario(workdir, processes, body)


def test_message_to_unavailable_full_jid(workdir, processes):
    """§8.5.3.2.1: no resource matches the full JID. chat is handled as if sent to the bare JID
    (delivered to the most available resource, or stored); normal and groupchat are bounced with
    service-unavailable; headline and error are dropped."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        bob = await login(stack, "bob", resource="home")
        try:
            send(alice, jid("bob", "gone"), "gone-chat", "chat")
            msg = await bob.wait_message(with_id("gone-chat"))
            assert msg["from"] == jid("alice", "pc")
            for mid, mtype in (("gone-normal", "normal"), ("gone-untyped", None), ("gone-gc", "groupchat")):
                send(alice, jid("bob", "gone"), mid, mtype)
                err = await alice.wait_message(with_id(mid))
                assert is_error(err, "service-unavailable"), err
                assert err["from"] == jid("bob", "gone")
            send(alice, jid("bob", "gone"), "gone-news", "headline")
            send(alice, jid("bob", "gone"), "gone-error", "error")
            await barrier(alice, bob)
            assert ids(bob.messages) == []
        finally:
            await bob.close()
        # Bob offline: chat to a full JID is stored like chat to the bare JID; normal is not.
        send(alice, jid("bob", "gone"), "gone-stored", "chat")
        send(alice, jid("bob", "gone"), "gone-normal-2", "normal")
        err = await alice.wait_message(with_id("gone-normal-2"))
        assert is_error(err, "service-unavailable"), err
        assert ids(alice.messages) == []
        bob = await login(stack, "bob", resource="again")
        try:
            stored = await bob.wait_message(with_id("gone-stored"))
            assert stored.xml.find(DELAY) is not None
            assert ids(bob.messages) == []
        finally:
            await bob.close()
            await alice.close()

    scenario(workdir, processes, body)


def test_addressing_edge_cases(workdir, processes):
    """RFC 6120 §10.3.1: a message without `to` is for the sender's own bare JID; §8.3.3.8: a
    `to` that is not a JID is jid-malformed; §10.4: a domain nobody serves (no s2s here) is
    remote-server-not-found."""

    async def body(stack):
        alice = await login(stack, "alice", resource="pc")
        try:
            alice.send_raw("<message type='chat' id='no-to'><body>note to self</body></message>")
            msg = await alice.wait_message(with_id("no-to"))
            assert msg["from"] == jid("alice", "pc") and msg["to"] == jid("alice")
            for mid, to in (("bad-to", "a@b@c"), ("empty-local", "@localhost")):
                alice.send_raw(f"<message type='chat' id='{mid}' to='{to}'><body>x</body></message>")
                err = await alice.wait_message(with_id(mid))
                assert is_error(err, "jid-malformed"), err
            send(alice, "someone@elsewhere.example", "remote")
            err = await alice.wait_message(with_id("remote"))
            assert is_error(err, "remote-server-not-found"), err
            assert err["from"] == "someone@elsewhere.example"
        finally:
            await alice.close()

    scenario(workdir, processes, body)
