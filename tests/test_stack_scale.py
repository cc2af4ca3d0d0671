"""The Starling stack scaled out and under stress, with the real executables:

- two starling-sm instances (sm1, sm2) share `localhost` in the router's multi mode and one SQLite
  file: users are spread over both, and chat, presence, subscriptions, offline messages and
  rosters work across them; stopping one ends only its users' sessions;
- two hundred users log in at once over STARTTLS, become contacts, chat and leave;
- a c2s that dies (SIGKILL) has its sessions ended by the sm: contacts on a second c2s see its
  users go offline, and messages to them are stored;
- bad actors (a flood, a 10 MB stanza, a client that never reads) do not delay others, and are
  cut off.

Clients are the light asyncio clients of helpers/aioclient.py. Every wait is bounded and waits
for the stanza (or log line, or closed stream) it expects.
"""

from __future__ import annotations

import asyncio
import re
import time
import xml.etree.ElementTree as ET

from helpers.aioclient import AioClient, gather_bounded, register, tag
from helpers.scale_stack import DOMAIN, ScaleStack, start_scale_stack
from helpers.xmpp import run_async

NS_ROSTER = "jabber:iq:roster"
NS_DELAY = "urn:xmpp:delay"


def jid(name: str) -> str:
    return f"{name}@{DOMAIN}"


def password(name: str) -> str:
    return f"{name}-pw"


async def register_all(stack: ScaleStack, names, cid: str = "c2s", limit: int = 16) -> None:
    host, port = stack.c2s(cid)
    await gather_bounded([register(host, port, DOMAIN, n, password(n)) for n in names], limit)


async def login(stack: ScaleStack, name: str, cid: str = "c2s", **kw) -> AioClient:
    host, port = stack.c2s(cid)
    return await AioClient.login(host, port, DOMAIN, name, password(name), **kw)


async def login_all(stack: ScaleStack, names, cid: str = "c2s", limit: int = 50,
                    timeout: float = 15.0) -> dict[str, AioClient]:
    clients = await gather_bounded([login(stack, n, cid, timeout=timeout) for n in names], limit)
    return dict(zip(names, clients))


def roster_items(answer: ET.Element) -> dict[str, str]:
    return {i.get("jid"): i.get("subscription") for i in answer.iter(tag("item", NS_ROSTER))}


async def make_contacts(a: AioClient, b: AioClient) -> None:
    """A `both` subscription between two logged-in users through the RFC 6121 §3.1 flows; each
    ends up seeing the other's presence."""
    for asker, approver in ((a, b), (b, a)):
        asker.presence(to=approver.bare, typ="subscribe")
        await approver.wait_presence(asker.bare, "subscribe")
        approver.presence(to=asker.bare, typ="subscribed")
        await asker.wait_presence(approver.bare, "subscribed")
        # §3.1.6: the new subscriber gets the contact's current presence.
        await asker.wait_presence(approver.jid)


async def chat(sender: AioClient, receiver: AioClient, msg_id: str, timeout: float = 10.0) -> ET.Element:
    sender.message(receiver.bare, f"body of {msg_id}", msg_id)
    msg = await receiver.wait_message(msg_id, timeout)
    assert msg.get("from") == sender.jid, ET.tostring(msg)
    assert msg.findtext(tag("body")) == f"body of {msg_id}"
    return msg


def log_count(stack: ScaleStack, pattern: str) -> int:
    """How many lines of the sm logs match `pattern`."""
    rx = re.compile(pattern)
    return sum(len(rx.findall(sm.process.output())) for sm in stack.sms.values())


async def wait_log(stack: ScaleStack, pattern: str, seen: int = 0, timeout: float = 10.0) -> None:
    """Waits (bounded, without blocking the event loop) until the sm logs hold more than `seen`
    lines matching `pattern`."""
    deadline = time.monotonic() + timeout
    while log_count(stack, pattern) <= seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"no (new) sm log line {pattern!r} within {timeout}s")
        await asyncio.sleep(0.05)


def has_delay(msg: ET.Element) -> bool:
    return msg.find(tag("delay", NS_DELAY)) is not None


# -- 1. several sm for one domain ---------------------------------------------------------------


def test_two_sms_share_the_domain(workdir, processes):
    stack = start_scale_stack(workdir, processes, sm_ids=("sm1", "sm2"))
    names = [f"u{i:02}" for i in range(20)]

    async def scenario():
        await register_all(stack, names)
        clients = await login_all(stack, names)
        try:
            on1 = {n for n in names if jid(n) in stack.sm_users("sm1")}
            on2 = {n for n in names if jid(n) in stack.sm_users("sm2")}
            # Every session is on exactly one sm, and both sm have a share.
            assert on1 and on2, (on1, on2)
            assert on1.isdisjoint(on2) and on1 | on2 == set(names), (on1, on2)
            a, c, d = sorted(on1)[:3]
            b, e, f = sorted(on2)[:3]
            ca, cb, cc, ce, cf = (clients[n] for n in (a, b, c, e, f))

            # Subscriptions, presence and chat between users of different sm.
            await make_contacts(ca, cb)
            for client, other in ((ca, b), (cb, a)):
                items = roster_items(await client.iq(f"<query xmlns='{NS_ROSTER}'/>"))
                assert items.get(jid(other)) == "both", items
            await chat(ca, cb, "a-to-b")
            await chat(cb, ca, "b-to-a")
            # Addresses are compared in their canonical form (RFC 7622 width and case
            # mapping), also when choosing the sm: a JID written differently still reaches
            # the session, wherever it is.
            for n in sorted(on1 | on2):
                if n not in (a, b):
                    odd = "\uff55" + n[1:].upper()  # FULLWIDTH LATIN SMALL LETTER U
                    cb.message(f"{odd}@{DOMAIN.upper()}", "written oddly", f"odd-{n}")
                    live = await clients[n].wait_message(f"odd-{n}")
                    assert not has_delay(live), ET.tostring(live)
            ca.send("<presence><show>away</show></presence>")
            away = await cb.wait_presence(ca.jid)
            assert away.findtext(tag("show")) == "away"

            # Offline storage across sm: d (sm1) leaves; e (sm2) asks to subscribe and writes to
            # d. Both travel sm2 -> router -> sm1 in order, so once the message is stored, the
            # request has been handled too.
            await clients.pop(d).close()
            ce.presence(to=jid(d), typ="subscribe")
            ce.message(jid(d), "while you were out", "offline-1")
            await wait_log(stack, rf"message stored offline user={re.escape(jid(d))}")
            cd = clients[d] = await login(stack, d)
            stored = await cd.wait_message("offline-1")
            assert stored.get("from") == ce.jid and has_delay(stored), ET.tostring(stored)
            await cd.wait_presence(jid(e), "subscribe")

            # sm1 stops: its users' streams end, sm2's users go on, and sm1's users' contacts
            # on sm2 see them leave.
            stack.sms["sm1"].process.stop()
            # c2s closes the streams of sessions whose sm went away with host-gone.
            ended = await asyncio.gather(*(clients[n].wait_ended(15) for n in sorted(on1)))
            assert set(ended) == {"host-gone"}, ended
            await cb.wait_presence(ca.jid, "unavailable")
            await chat(cb, ce, "b-to-e-after")
            await chat(ce, cb, "e-to-b-after")
            # sm1's users come back on sm2 and find their contacts.
            ca = clients[a] = await login(stack, a)
            await cb.wait_presence(ca.jid)
            await chat(ca, cb, "a-to-b-again")
            cc = clients[c] = await login(stack, c)
            await chat(cb, cc, "b-to-c-again")
        finally:
            for client in clients.values():
                client.abort()

    run_async(scenario(), timeout=120)


# -- 2. two hundred users -----------------------------------------------------------------------


def test_two_hundred_users_log_in_chat_and_leave(workdir, processes):
    stack = start_scale_stack(workdir, processes, sm_ids=("sm1", "sm2"))
    count = 200
    names = [f"p{i:03}" for i in range(count)]
    nxt = {n: names[(i + 1) % count] for i, n in enumerate(names)}
    prv = {n: names[i - 1] for i, n in enumerate(names)}

    async def scenario():
        await register_all(stack, names)
        # All at once: 200 STARTTLS + SCRAM logins in flight together.
        clients = await login_all(stack, names, limit=count, timeout=45)
        try:
            # Neighbours on the ring become contacts: everyone asks both neighbours and
            # approves both.
            async def befriend(n: str) -> None:
                c = clients[n]
                for other in (prv[n], nxt[n]):
                    c.presence(to=jid(other), typ="subscribe")
                for other in (prv[n], nxt[n]):
                    await c.wait_presence(jid(other), "subscribe", timeout=30)
                    c.presence(to=jid(other), typ="subscribed")
                for other in (prv[n], nxt[n]):
                    await c.wait_presence(jid(other), "subscribed", timeout=30)

            await asyncio.gather(*(befriend(n) for n in names))

            # Everyone writes to the next user, then a marker on the same path: when the
            # marker is in, the message has arrived exactly once.
            for n in names:
                clients[n].message(jid(nxt[n]), f"hello from {n}", f"hello-{n}")
                clients[n].message(jid(nxt[n]), "marker", f"marker-{n}")

            async def receive(n: str) -> None:
                c = clients[n]
                msg = await c.wait_message(f"hello-{prv[n]}", timeout=30)
                assert msg.get("from") == clients[prv[n]].jid
                await c.wait_message(f"marker-{prv[n]}", timeout=30)
                dupes = [e for e in c.received if e.get("id") == f"hello-{prv[n]}"]
                assert not dupes, [ET.tostring(e) for e in dupes]

            await asyncio.gather(*(receive(n) for n in names))

            # Half leave; the others see both of their neighbours go offline.
            leaving, staying = names[0::2], names[1::2]
            await asyncio.gather(*(clients[n].close() for n in leaving))
            await asyncio.gather(*(
                clients[n].wait_presence(clients[o].jid, "unavailable", timeout=30)
                for n in staying for o in (prv[n], nxt[n])
            ))
            await asyncio.gather(*(clients[n].close() for n in staying))
        finally:
            for client in clients.values():
                client.abort()

    run_async(scenario(), timeout=150)


# -- 3. a c2s dies --------------------------------------------------------------------------------


def test_killed_c2s_sessions_end_and_contacts_see_it(workdir, processes):
    stack = start_scale_stack(workdir, processes, sm_ids=("sm1", "sm2"), c2s_ids=("c2s", "c2s2"))
    gone = [f"g{i}" for i in range(6)]  # on c2s, which will be killed
    watchers = [f"w{i}" for i in range(6)]  # on c2s2

    async def scenario():
        await register_all(stack, gone + watchers, cid="c2s2")
        g = await login_all(stack, gone, cid="c2s")
        w = await login_all(stack, watchers, cid="c2s2")
        try:
            # The pairs span both sm (the router spreads users by JID).
            assert stack.sm_users("sm1") and stack.sm_users("sm2")
            await asyncio.gather(*(make_contacts(g[a], w[b]) for a, b in zip(gone, watchers)))
            await asyncio.gather(*(chat(g[a], w[b], f"before-{a}") for a, b in zip(gone, watchers)))

            stack.c2ss["c2s"].process.popen.kill()
            # The sm end the sessions of the dead c2s: contacts see the users leave ...
            await asyncio.gather(*(
                w[b].wait_presence(g[a].jid, "unavailable", timeout=15) for a, b in zip(gone, watchers)
            ))
            # ... and messages to them are kept for later.
            for a, b in zip(gone, watchers):
                w[b].message(jid(a), "are you there?", f"later-{a}")
            for a in gone:
                await wait_log(stack, rf"message stored offline user={re.escape(jid(a))}")
            for a in gone:
                g[a].abort()
                g[a] = await login(stack, a, cid="c2s2")
            for a, b in zip(gone, watchers):
                stored = await g[a].wait_message(f"later-{a}")
                assert stored.get("from") == w[b].jid and has_delay(stored), ET.tostring(stored)
                await w[b].wait_presence(g[a].jid)
        finally:
            for client in [*g.values(), *w.values()]:
                client.abort()

    run_async(scenario(), timeout=90)


# -- 4. bad actors ---------------------------------------------------------------------------------


def bad_actor_stack(workdir, processes, **c2s_limits) -> ScaleStack:
    return start_scale_stack(workdir, processes, sm_ids=("sm1",), c2s_limits=c2s_limits or None)


async def keep_chatting(a: AioClient, b: AioClient, prefix: str, until, limit: float = 5.0) -> int:
    """Round trips between a and b, each within `limit` seconds, until `until()` holds (and at
    least three). Returns how many."""
    rounds = 0
    while rounds < 3 or not until():
        await chat(a, b, f"{prefix}-{rounds}", timeout=limit)
        await chat(b, a, f"{prefix}-back-{rounds}", timeout=limit)
        rounds += 1
    return rounds


def test_a_flooding_client_is_throttled_and_others_chat_on(workdir, processes):
    """One client writes stanzas as fast as TCP lets it. c2s reads it at its configured rate
    (defaults: 200 stanzas/s, bursts of 1000), so the sm is not swamped, the router never
    drops it for a full queue, and two others keep chatting with bounded latency."""
    stack = bad_actor_stack(workdir, processes)
    rate, burst = 200, 1000

    async def scenario():
        await register_all(stack, ["alice", "bob", "mallory"])
        alice, bob, mallory = [await login(stack, n) for n in ("alice", "bob", "mallory")]
        answered = 0
        written = 0
        stop = asyncio.Event()

        async def flood() -> None:
            nonlocal answered, written
            chunk = "".join(f"<message to='nobody{i}@{DOMAIN}' type='chat' id='flood-{i}'><body>x</body></message>"
                            for i in range(100))
            while not stop.is_set() and not mallory.ended:
                mallory.send(chunk)
                written += 100
                try:
                    await asyncio.wait_for(mallory.writer.drain(), 0.2)
                except asyncio.TimeoutError:
                    pass  # the server is pushing back; keep the pressure on
                answered += sum(1 for e in mallory.received if e.get("id", "").startswith("flood-"))
                mallory.received.clear()

        try:
            flooding = asyncio.create_task(flood())
            started = time.monotonic()
            rounds = await keep_chatting(alice, bob, "calm", until=lambda: time.monotonic() - started > 8)
            stop.set()
            await flooding
            elapsed = time.monotonic() - started
            # The flood was answered at most at the configured rate, although far more was written.
            allowed = burst + rate * elapsed
            assert answered <= allowed * 1.1, (answered, allowed)
            assert written > 2 * allowed, (written, allowed)
            assert not mallory.ended and rounds >= 3
        finally:
            for c in (alice, bob, mallory):
                c.abort()

    run_async(scenario(), timeout=60)


def test_an_oversized_stanza_gets_policy_violation(workdir, processes):
    """A 10 MB stanza: the stream is closed with policy-violation once it passes
    max_stanza_bytes, nothing of it is delivered, and others chat on meanwhile."""
    stack = bad_actor_stack(workdir, processes)

    async def scenario():
        await register_all(stack, ["alice", "bob", "mallory"])
        alice, bob, mallory = [await login(stack, n) for n in ("alice", "bob", "mallory")]
        try:
            async def send_huge() -> None:
                mallory.send(f"<message to='bob@{DOMAIN}' type='chat' id='huge'><body>")
                piece = "x" * 65536
                for _ in range(160):  # 10 MB
                    if mallory.ended:
                        return
                    mallory.send(piece)
                    try:
                        await mallory.writer.drain()
                    except ConnectionError:
                        return
                mallory.send("</body></message>")

            sending = asyncio.create_task(send_huge())
            await keep_chatting(alice, bob, "calm", until=lambda: mallory.ended)
            assert await mallory.wait_ended(10) == "policy-violation"
            await sending
            await chat(alice, bob, "after")
            assert not any(e.get("id") == "huge" for e in bob.received)
        finally:
            for c in (alice, bob, mallory):
                c.abort()

    run_async(scenario(), timeout=60)


def test_a_client_that_never_reads_is_cut_off(workdir, processes):
    """A client stops reading while a contact sends it large messages: once max_queue_bytes
    are waiting for it, c2s ends its session (the contact sees it go offline) and resets its
    connection, while two others keep chatting; later messages are stored offline."""
    stack = bad_actor_stack(workdir, processes, max_queue_bytes=262144)

    async def scenario():
        await register_all(stack, ["alice", "bob", "zombie"])
        alice, bob = await login(stack, "alice"), await login(stack, "bob")
        # A small receive buffer: what it does not read backs up into c2s quickly.
        zombie = await login(stack, "zombie", rcvbuf=4096)
        try:
            await make_contacts(alice, zombie)
            zombie.pause_reading()
            big = "y" * 30000
            sent = 0

            def zombie_gone() -> bool:
                return any(e.tag == tag("presence") and e.get("type") == "unavailable"
                           and e.get("from") == zombie.jid for e in alice.received)

            deadline = time.monotonic() + 40
            while not zombie_gone():
                assert time.monotonic() < deadline, f"zombie still has a session after {sent} messages"
                for _ in range(10):
                    alice.message(zombie.bare, big, f"big-{sent}")
                    sent += 1
                await alice.writer.drain()
                await chat(alice, bob, f"calm-{sent}")
                await chat(bob, alice, f"calm-back-{sent}")
            await alice.wait_presence(zombie.jid, "unavailable")
            # The connection is reset although the client never read a byte more.
            deadline = time.monotonic() + 10
            while zombie.tcp_established():
                assert time.monotonic() < deadline, "c2s kept the connection of a client that does not read"
                await asyncio.sleep(0.05)
            # The ping is answered after the sm has handled every earlier message of alice's
            # (those in flight when the session ended were stored): count from there.
            await alice.ping()
            stored_line = r"message stored offline user=zombie@localhost"
            seen = log_count(stack, stored_line)
            alice.message(zombie.bare, "when you are back", "later")
            await wait_log(stack, stored_line, seen)
        finally:
            for c in (alice, bob, zombie):
                c.abort()

    run_async(scenario(), timeout=90)
