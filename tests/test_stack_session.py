"""Sessions on the all-Starling stack (RFC 6120 §7, §8.1.2.1): several resources of one user,
a second bind of a full JID replacing the first (`conflict` on the old stream), the legacy
session IQ, stanzas pipelined behind the bind request, spoofed `from` refused, and `from`
stamped on what clients receive. Raw sockets where slixmpp would hide the wire."""

import asyncio
import xml.etree.ElementTree as ET

from helpers.c2s_stack import NS_BIND, NS_SASL, open_stream, plain_auth, raw_login, raw_tls
from helpers.rawxmpp import RawStream, stream_error_condition
from helpers.stack import DOMAIN, login, register, start_stack
from helpers.stack_checks import barrier, jid, leftovers
from helpers.xmpp import run_async

NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session"
PING = "<ping xmlns='urn:xmpp:ping'/>"


def scenario(workdir, processes, body):
    stack = start_stack(workdir, processes)

    async def run():
        await register(stack, "alice", "bob", "carol")
        await body(stack)

    run_async(run(), timeout=90)


def raw(stack, name: str, resource: str) -> RawStream:
    host, port = stack.c2s
    return raw_login(host, port, name, f"{name}-pw", resource)


def next_matching(s: RawStream, predicate, seen: list | None = None) -> ET.Element:
    """The next element matching `predicate`; the others go to `seen`. A stream error that was
    not asked for fails the test."""
    while True:
        el = s.next_element()
        if predicate(el):
            return el
        assert stream_error_condition(el) is None, ET.tostring(el)
        if seen is not None:
            seen.append(el)


def by_id(iq_id: str):
    return lambda el: el.get("id") == iq_id


def stream_error_then_close(s: RawStream) -> str:
    """Reads up to the stream error and returns its condition; the stream must then close."""
    while True:
        cond = stream_error_condition(s.next_element())
        if cond is not None:
            break
    s.wait_closed()
    assert s.stream_ended or s.closed
    return cond


def test_two_resources_of_one_user_are_online_together(workdir, processes):
    """RFC 6120 §7.1: each bound resource is its own session; each full JID reaches its own."""

    async def body(stack):
        bob = await login(stack, "bob", resource="home")
        one = await login(stack, "alice", resource="one")
        two = await login(stack, "alice", resource="two")
        try:
            await one.wait_presence(lambda p: p["from"] == jid("alice", "two"), what="alice/two's presence at one")
            for target, name in ((one, "one"), (two, "two")):
                bob.send_chat(jid("alice", name), f"to {name}", msg_id=f"to-{name}")
                msg = await target.wait_message(lambda m, n=name: m["id"] == f"to-{n}")
                assert msg["to"] == jid("alice", name)
            one.send_chat(jid("alice", "two"), "self", msg_id="self")
            msg = await two.wait_message(lambda m: m["id"] == "self")
            assert msg["from"] == jid("alice", "one")
            await barrier(bob, one)
            assert [m["id"] for m in leftovers(one.messages)] == []
        finally:
            for c in (bob, one, two):
                await c.close()

    scenario(workdir, processes, body)


def test_second_bind_of_a_full_jid_replaces_the_session(workdir, processes):
    """RFC 6120 §7.7.2.2: binding a full JID that is in use ends the old session with a
    `conflict` stream error; the new one gets what is sent to that JID."""

    async def body(stack):
        bob = await login(stack, "bob", resource="home")
        old = await asyncio.to_thread(raw, stack, "alice", "dup")
        try:
            old.send(f"<presence/><iq type='get' id='p0' to='{DOMAIN}'>{PING}</iq>")
            await asyncio.to_thread(next_matching, old, by_id("p0"))
            new = await login(stack, "alice", resource="dup")
            try:
                assert new.boundjid.full == jid("alice", "dup")
                assert await asyncio.to_thread(stream_error_then_close, old) == "conflict"
                bob.send_chat(jid("alice", "dup"), "who is there", msg_id="after")
                await new.wait_message(lambda m: m["id"] == "after")
            finally:
                await new.close()
        finally:
            old.close()
            await bob.close()

    scenario(workdir, processes, body)


def test_legacy_session_iq_is_answered(workdir, processes):
    """RFC 6121 / RFC 3921 §3: clients that still send the session IQ get an empty result,
    before or after binding; a result with that payload is not answered."""

    def check(stack):
        host, port = stack.c2s
        s, _ = raw_tls(host, port)
        with s:
            assert plain_auth(s, "alice", "alice-pw").tag == f"{{{NS_SASL}}}success"
            features = open_stream(s)
            assert features.find(f"{{{NS_SESSION}}}session") is not None
            s.send(f"<iq type='set' id='s0'><session xmlns='{NS_SESSION}'/></iq>")
            assert next_matching(s, by_id("s0")).get("type") == "result"
            s.send(f"<iq type='set' id='b1'><bind xmlns='{NS_BIND}'><resource>legacy</resource></bind></iq>")
            assert next_matching(s, by_id("b1")).get("type") == "result"
            s.send(f"<iq type='set' id='s1'><session xmlns='{NS_SESSION}'/></iq>"
                   f"<iq type='result' id='s2'><session xmlns='{NS_SESSION}'/></iq>"
                   f"<iq type='get' id='p1' to='{DOMAIN}'>{PING}</iq>")
            seen = []
            answer = next_matching(s, by_id("s1"), seen)
            assert answer.get("type") == "result" and len(answer) == 0, ET.tostring(answer)
            next_matching(s, by_id("p1"), seen)
            assert [el.get("id") for el in seen] == []

    async def body(stack):
        await asyncio.to_thread(check, stack)

    scenario(workdir, processes, body)


def test_stanzas_pipelined_with_the_bind_request_are_processed(workdir, processes):
    """RFC 6120 §7 / §4.4: a client may send its first stanzas right behind the bind request,
    in the same write; they are handled in order, as if it had waited."""

    def pipelined(stack) -> list[ET.Element]:
        host, port = stack.c2s
        s, _ = raw_tls(host, port)
        with s:
            assert plain_auth(s, "alice", "alice-pw").tag == f"{{{NS_SASL}}}success"
            open_stream(s)
            s.send(f"<iq type='set' id='b1'><bind xmlns='{NS_BIND}'><resource>pipe</resource></bind></iq>"
                   f"<iq type='set' id='s1'><session xmlns='{NS_SESSION}'/></iq>"
                   "<presence><priority>1</priority></presence>"
                   f"<message to='{jid('bob', 'home')}' type='chat' id='m1'><body>early</body></message>"
                   f"<iq type='get' id='p1' to='{DOMAIN}'>{PING}</iq>")
            got = []
            for iq_id in ("b1", "s1", "p1"):
                got.append(next_matching(s, by_id(iq_id), got))
            bound = got[0].find(f"{{{NS_BIND}}}bind/{{{NS_BIND}}}jid")
            assert got[0].get("type") == "result" and bound is not None and bound.text == jid("alice", "pipe")
            assert all(el.get("type") == "result" for el in got if el.tag == "{jabber:client}iq"), got
            # The session is alive after all that.
            s.send(f"<iq type='get' id='p2' to='{DOMAIN}'>{PING}</iq>")
            got.append(next_matching(s, by_id("p2"), got))
            return got

    async def body(stack):
        bob = await login(stack, "bob", resource="home")
        try:
            got = await asyncio.to_thread(pipelined, stack)
            echo = [el for el in got if el.tag == "{jabber:client}presence" and el.get("from") == jid("alice", "pipe")]
            assert echo, [ET.tostring(el) for el in got]
            msg = await bob.wait_message(lambda m: m["id"] == "m1")
            assert msg["from"] == jid("alice", "pipe") and msg["body"] == "early"
        finally:
            await bob.close()

    scenario(workdir, processes, body)


def test_spoofed_from_is_refused_with_invalid_from(workdir, processes):
    """RFC 6120 §8.1.2.1 / §4.9.3.9: a `from` that is not the client's own address ends the
    stream with `invalid-from`, and the stanza goes nowhere; the client's own bare or full JID
    is accepted and the server stamps the full JID."""

    def spoof(stack, resource: str, from_: str) -> str:
        with raw(stack, "alice", resource) as s:
            s.send(f"<message from='{from_}' to='{jid('bob', 'home')}' type='chat' id='spoof-{resource}'>"
                   "<body>spoof</body></message>")
            return stream_error_then_close(s)

    def honest(stack):
        with raw(stack, "alice", "honest") as s:
            for n, from_ in enumerate((jid("alice"), jid("alice", "honest"))):
                s.send(f"<message from='{from_}' to='{jid('bob', 'home')}' type='chat' id='own-{n}'>"
                       "<body>me</body></message>")
            s.send(f"<iq type='get' id='p1' to='{DOMAIN}'>{PING}</iq>")
            next_matching(s, by_id("p1"))

    async def body(stack):
        bob = await login(stack, "bob", resource="home")
        carol = await login(stack, "carol", resource="pc")
        try:
            for resource, from_ in (("r1", jid("carol", "pc")), ("r2", jid("carol")), ("r3", jid("alice", "other")),
                                    ("r4", DOMAIN), ("r5", "not a jid@@")):
                assert await asyncio.to_thread(spoof, stack, resource, from_) == "invalid-from", from_
            await asyncio.to_thread(honest, stack)
            for n in range(2):
                msg = await bob.wait_message(lambda m, n=n: m["id"] == f"own-{n}")
                assert msg["from"] == jid("alice", "honest")
            await barrier(carol, bob)
            assert [m["id"] for m in leftovers(bob.messages)] == []
        finally:
            await bob.close()
            await carol.close()

    scenario(workdir, processes, body)


def test_from_is_stamped_on_every_stanza(workdir, processes):
    """RFC 6120 §8.1.2.1: the server stamps the sender's full JID on what a client sends, and
    whatever a client receives from another entity (a user, the server, an error on an address's
    behalf) carries a `from`."""

    def client_side(stack) -> list[ET.Element]:
        with raw(stack, "alice", "raw") as s:
            s.send("<presence/>"
                   f"<message to='{jid('bob', 'home')}' type='chat' id='m1'><body>hi</body></message>"
                   f"<presence to='{jid('bob', 'home')}'/>"
                   f"<iq type='get' id='i1' to='{jid('bob')}'><query xmlns='urn:example:nothing'/></iq>"
                   f"<message to='{jid('nobody')}' type='chat' id='m2'><body>?</body></message>"
                   f"<iq type='get' id='i2' to='{jid('bob', 'gone')}'>{PING}</iq>"
                   f"<iq type='get' id='p1' to='{DOMAIN}'>{PING}</iq>")
            # Answers from different addresses may come in any order (RFC 6120 §10.1 orders
            # stanzas between two entities only): the error for the user without a session
            # takes a trip through the router.
            seen, answers = [], {}
            while len(answers) < 4:
                el = next_matching(s, lambda el: el.get("id") in ("i1", "m2", "i2", "p1"), seen)
                answers[el.get("id")] = el
            assert answers["i1"].get("from") == jid("bob")
            assert answers["m2"].get("from") == jid("nobody")
            assert answers["i2"].get("from") == jid("bob", "gone")
            assert answers["p1"].get("from") == DOMAIN
            for el in seen + list(answers.values()):
                assert el.get("from"), ET.tostring(el)
            return seen

    async def body(stack):
        bob = await login(stack, "bob", resource="home")
        try:
            await asyncio.to_thread(client_side, stack)
            msg = await bob.wait_message(lambda m: m["id"] == "m1")
            assert msg["from"] == jid("alice", "raw")
            p = await bob.wait_presence(lambda p: p["from"].bare == jid("alice"), what="directed presence")
            assert p["from"] == jid("alice", "raw")
        finally:
            await bob.close()

    scenario(workdir, processes, body)
